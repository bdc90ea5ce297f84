package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"
)

// profiler fetches Go profiles of a started server from its --debug-addr
// while a scenario runs, so that each figure comes with the evidence of
// what bounds it.
type profiler struct {
	dir, name string
	addr      string
	logf      func(format string, args ...any)
	done      chan struct{}
}

// freeAddr returns a loopback address with a port free right now, for the
// server's --debug-addr. Another process could take the port before the
// server does; the server then fails to start and says so.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// profileSeconds is how long the CPU profile of a scenario runs: most of a
// timed publish phase after a second of warm-up, at most 30 seconds, and
// 10 seconds for a phase bounded by count, whose length is not known.
func profileSeconds(sc Scenario) int {
	if sc.Count > 0 && sc.Rate == 0 {
		return 10
	}
	return int(min(max(sc.Duration-2*time.Second, time.Second), 30*time.Second) / time.Second)
}

// startCPU begins a CPU profile after a second of warm-up, and once ready
// reports true (polled; nil means at once). wait waits for it to be
// written.
func (p *profiler) startCPU(ctx context.Context, seconds int, ready func() bool) {
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		if !waitContext(ctx, time.Second) {
			return
		}
		for ready != nil && !ready() {
			if !waitContext(ctx, 100*time.Millisecond) {
				return
			}
		}
		stop := p.startOwnCPU()
		p.fetch(ctx, "profile?seconds="+strconv.Itoa(seconds), "cpu", time.Duration(seconds+30)*time.Second)
		stop()
	}()
}

// startOwnCPU begins a CPU profile of the benchmark itself (the load and
// the sink), written as <scenario>.bench.cpu.pprof when the returned func
// is called: the two share the machine, so what the benchmark spends is
// taken from the server.
func (p *profiler) startOwnCPU() (stop func()) {
	path := filepath.Join(p.dir, p.name+".bench.cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		p.logf("%s: bench cpu profile: %v", p.name, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		p.logf("%s: bench cpu profile: %v", p.name, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			p.logf("%s: bench cpu profile: %v", p.name, err)
			return
		}
		p.logf("%s: wrote %s", p.name, path)
	}
}

func (p *profiler) wait() {
	if p != nil && p.done != nil {
		<-p.done
	}
}

// allocs writes the profile of the memory allocated since the server
// started, whose size the garbage collector's work follows, and the mutex
// and block profiles: where the server's goroutines waited for locks and
// for each other.
func (p *profiler) allocs(ctx context.Context) {
	if p != nil {
		p.fetch(ctx, "allocs", "allocs", 30*time.Second)
		p.fetch(ctx, "mutex", "mutex", 30*time.Second)
		p.fetch(ctx, "block", "block", 30*time.Second)
	}
}

func (p *profiler) fetch(ctx context.Context, query, kind string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := filepath.Join(p.dir, p.name+"."+kind+".pprof")
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/debug/pprof/"+query, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, io.LimitReader(resp.Body, 256<<20)); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}()
	if err != nil {
		p.logf("%s: %s profile: %v", p.name, kind, err)
		return
	}
	p.logf("%s: wrote %s", p.name, path)
}
