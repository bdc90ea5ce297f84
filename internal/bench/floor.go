package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// FloorOptions configure a floor server.
type FloorOptions struct {
	// Addr is the address to listen on.
	Addr string
	// File is the file each message is written to and flushed.
	File string
	// DeliverTo is the URL each message is POSTed to once accepted.
	DeliverTo string
	// NoFlush leaves the written messages to the operating system, for
	// what the flush itself costs: not a server anyone should run.
	NoFlush bool
}

// floorFileSize is where the floor server's writes wrap around to the
// start of its file, as a write-ahead log is reused.
const floorFileSize = 64 << 20

// floorSenders is how many messages the floor server delivers at once.
const floorSenders = 16

// ServeFloor runs the floor server until ctx ends: the least a webhook
// server must do for each message it accepts and delivers. It reads the
// publish (net/http, as hookline's API does), writes its body to File and
// flushes it to disk with fdatasync before it answers 202 (one writer, as
// SQLite has; writes that come during a flush share the next), then POSTs the body to DeliverTo
// with a keep-alive fasthttp client, as hookline delivers. It keeps no
// index, no table and no record of the delivery. The floor-* scenarios
// measure its CPU per message at hookline's everyday rates, on the same
// machine: what no server can go below there.
func ServeFloor(ctx context.Context, opts FloorOptions) error {
	f, err := os.OpenFile(opts.File, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("floor server: %w", err)
	}
	defer f.Close()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("floor server: %w", err)
	}
	fl := &floor{f: f, out: make(chan []byte, 4096), to: opts.DeliverTo, noFlush: opts.NoFlush,
		hc: &fasthttp.Client{MaxConnsPerHost: floorSenders, MaxIdleConnDuration: time.Minute, NoDefaultUserAgentHeader: true}}
	var wg sync.WaitGroup
	for range floorSenders {
		wg.Go(fl.send)
	}
	srv := &http.Server{Handler: fl, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err = srv.Serve(ln)
	close(fl.out)
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

type floor struct {
	mu      sync.Mutex
	f       *os.File
	off     int64
	written int64 // writes made, under mu

	syncMu  sync.Mutex
	synced  int64 // writes the last flush covered, under syncMu
	noFlush bool

	out chan []byte
	to  string
	hc  *fasthttp.Client
}

// ServeHTTP accepts a message once its body is on disk.
func (fl *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "want a POST with a body", http.StatusBadRequest)
		return
	}
	if err := fl.write(body); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	fl.out <- body
}

// write writes b at the end of the file, wrapping around at
// floorFileSize, and returns once it is on disk. Writes that come while a
// flush runs share the next one, as a database's group commit does: at
// everyday rates each message has a flush of its own, and under load the
// disk does not bound the rate.
func (fl *floor) write(b []byte) error {
	fl.mu.Lock()
	if fl.off+int64(len(b)) > floorFileSize {
		fl.off = 0
	}
	_, err := fl.f.WriteAt(b, fl.off)
	fl.off += int64(len(b))
	fl.written++
	mine := fl.written
	fl.mu.Unlock()
	if err != nil || fl.noFlush {
		return err
	}
	fl.syncMu.Lock()
	defer fl.syncMu.Unlock()
	if fl.synced >= mine {
		return nil
	}
	fl.mu.Lock()
	covers := fl.written
	fl.mu.Unlock()
	if err := ignoringEINTR(func() error { return syscall.Fdatasync(int(fl.f.Fd())) }); err != nil {
		return err
	}
	fl.synced = covers
	return nil
}

// send delivers accepted messages, trying each up to three times.
func (fl *floor) send() {
	for b := range fl.out {
		for try := 0; try < 3; try++ {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(fl.to)
			req.Header.SetMethod(http.MethodPost)
			req.Header.SetContentType("application/json")
			req.SetBodyRaw(b)
			err := fl.hc.DoTimeout(req, resp, 30*time.Second)
			ok := err == nil && resp.StatusCode()/100 == 2
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
			if ok {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// ignoringEINTR runs fn again while a signal interrupts it.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}

// floorServer is a floor server started as a child process of the
// benchmark, so that its CPU time is its own.
type floorServer struct {
	cmd  *exec.Cmd
	addr string
	done chan error
	log  string
}

// startFloor starts "bin bench floor-server" in dir, delivering to
// deliverTo, with the extra flags, and waits until it accepts connections.
func startFloor(ctx context.Context, bin, dir, deliverTo string, extra []string) (*floorServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "floor-server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, append([]string{"bench", "floor-server", "--addr", addr,
		"--file", filepath.Join(dir, "floor.log"), "--deliver-to", deliverTo}, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start floor server: %w", err)
	}
	fs := &floorServer{cmd: cmd, addr: addr, done: make(chan error, 1), log: logPath}
	go func() { fs.done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return fs, nil
		}
		select {
		case err := <-fs.done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("floor server exited (%v): %s", err, strings.TrimSpace(string(b)))
		case <-ctx.Done():
			fs.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			fs.stop()
			return nil, fmt.Errorf("floor server not listening on %s after 10s", addr)
		}
	}
}

// stop ends the floor server.
func (fs *floorServer) stop() {
	_ = fs.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-fs.done:
	case <-time.After(10 * time.Second):
		_ = fs.cmd.Process.Kill()
		<-fs.done
	}
}

// floor runs a floor scenario: the scenario's load and receiver against a
// floor server instead of hookline.
func (r *runner) floor(ctx context.Context, sc Scenario) Result {
	res := newResult(sc)
	fail := func(err error) Result {
		res.Error = err.Error()
		r.logf("%s: %v", sc.Name, err)
		return res
	}
	dir, err := os.MkdirTemp("", "hookline-bench-floor-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	run := strings.ToLower(rand.Text()[:12])
	sink, err := StartSink(run, SinkOptions{Endpoints: 1})
	if err != nil {
		return fail(err)
	}
	defer sink.Close()
	// The user's --serve-arg values go to the floor server.
	fs, err := startFloor(ctx, r.opts.Server, dir, sink.URL(0), r.opts.ServeArgs)
	if err != nil {
		return fail(err)
	}
	defer fs.stop()
	tg := target{base: "http://" + fs.addr, pid: fs.cmd.Process.Pid}
	res.Server = &ServerStats{PID: tg.pid, Version: "floor"}
	res.ServeArgs = r.opts.ServeArgs
	r.logf("%s: floor server (pid %d) on %s; publishing", sc.Name, tg.pid, fs.addr)
	accepted := &SeqSet{}
	client := NewLoadClient(sc.Concurrency)
	defer client.CloseIdleConnections()
	load := &Load{URL: tg.base + "/msg", Status: http.StatusAccepted, PayloadSize: sc.PayloadSize, Concurrency: sc.Concurrency,
		Rate: sc.Rate, Count: sc.Count, Duration: sc.Duration, Client: client, Accepted: accepted}
	err = r.steady(ctx, sc, &res, sink, load, tg, time.Now(), func() {})
	r.tallyResult(&res, sink.Tally(), accepted)
	if err != nil {
		return fail(err)
	}
	r.logf("%s: accepted %d (%.0f/s), delivered %d, lost %d, p50 %.2f ms, p99 %.2f ms, server CPU %s µs a message",
		sc.Name, res.Accepted, res.AcceptedPerSec, res.Delivered, res.Lost, res.Latency.P50, res.Latency.P99,
		strconv.FormatFloat(res.Server.CPUSeconds*1e6/float64(max(res.Accepted, 1)), 'f', 0, 64))
	return res
}
