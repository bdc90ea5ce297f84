package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/hookline/hookline/internal/conntrack"
	"github.com/valyala/fasthttp"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SinkMode is how the sink answers.
type SinkMode int

// The sink's modes. The down modes stand for a receiver that is out: Hold
// accepts connections and answers nothing until the sink is up again, the
// way an overloaded or hung receiver behaves; Refuse closes the port, so
// connections are refused; Unavailable answers 503 at once.
const (
	SinkUp SinkMode = iota
	SinkHold
	SinkRefuse
	SinkUnavailable
)

// ParseSinkMode reads a down mode as the --sink-down-mode flag gives it.
func ParseSinkMode(s string) (SinkMode, error) {
	switch s {
	case "hold":
		return SinkHold, nil
	case "refuse":
		return SinkRefuse, nil
	case "503":
		return SinkUnavailable, nil
	}
	return 0, fmt.Errorf("want hold, refuse or 503, not %q", s)
}

// SinkOptions shape the sink's answers when it is up.
type SinkOptions struct {
	// Endpoints is how many endpoints the sink serves, at paths
	// <prefix>0 to <prefix>(Endpoints-1).
	Endpoints int
	// FailRate is the share of deliveries answered 500, so that hookline
	// has to retry them.
	FailRate float64
	// Delay is how long the sink waits before answering a delivery, as a
	// slow receiver would.
	Delay time.Duration
	// Rand returns a number in [0, 1) for FailRate; math/rand/v2 by default.
	Rand func() float64
}

// maxDeliveryBody caps what the sink reads of one request: the largest
// payload a scenario sends is far smaller.
const maxDeliveryBody = 16 << 20

// gate holds requests while the sink is in Hold mode; release lets them
// through with the given answer (200 to deliver, 503 to turn them away).
type gate struct {
	ch     chan struct{}
	status int
}

// Sink is the receiver of a benchmark run: an HTTP server on loopback that
// reads each delivery's sequence number and send time, tallies it, and
// answers as its mode and options say.
//
// It serves with fasthttp's server, which takes about two thirds of the
// CPU of net/http's per request: the sink shares the machine with the
// server it measures, and what it spends is taken from that server.
type Sink struct {
	opts   SinkOptions
	prefix string
	tally  *Tally

	mu     sync.Mutex
	addr   string
	ln     *conntrack.Listener
	mode   SinkMode
	gate   *gate
	closed chan struct{}
	wg     sync.WaitGroup
	// held counts the requests waiting at the gate.
	held atomic.Int64
}

// StartSink starts a sink on a free loopback port. run names the run, so
// that deliveries left over from another run to the same port are told
// apart.
func StartSink(run string, opts SinkOptions) (*Sink, error) {
	if opts.Endpoints < 1 {
		return nil, errors.New("sink: at least one endpoint")
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	s := &Sink{opts: opts, prefix: "/r/" + run + "/e/", tally: NewTally(opts.Endpoints), closed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start sink: %w", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

// serve starts a new server on ln. Closing the listener ends it, and cuts
// off every connection it accepted, which Refuse mode and Close use.
func (s *Sink) serve(ln net.Listener) {
	srv := &fasthttp.Server{
		Handler:               s.handle,
		ReadTimeout:           10 * time.Second,
		IdleTimeout:           2 * time.Minute,
		MaxRequestBodySize:    maxDeliveryBody,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                discardLog,
	}
	tl := conntrack.Listen(ln)
	s.ln = tl
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		srv.Serve(tl) //nolint:errcheck // ends when the listener closes
	}()
}

// URL returns the delivery URL of endpoint i.
func (s *Sink) URL(i int) string {
	return "http://" + s.addr + s.prefix + strconv.Itoa(i)
}

// Tally returns the sink's account of deliveries.
func (s *Sink) Tally() *Tally { return s.tally }

// Mode returns the sink's current mode.
func (s *Sink) Mode() SinkMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// SetMode switches the sink to m. Requests held by Hold are let through
// when the sink comes up, and turned away with 503 when it switches to
// another down mode.
func (s *Sink) SetMode(m SinkMode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return errors.New("sink: closed")
	default:
	}
	if m == s.mode {
		return nil
	}
	if s.gate != nil {
		s.gate.status = fasthttp.StatusServiceUnavailable
		if m == SinkUp {
			s.gate.status = fasthttp.StatusOK
		}
		close(s.gate.ch)
		s.gate = nil
	}
	if s.mode == SinkRefuse {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("sink: listen again on %s: %w", s.addr, err)
		}
		s.serve(ln)
	}
	switch m {
	case SinkHold:
		s.gate = &gate{ch: make(chan struct{})}
	case SinkRefuse:
		// Closing the listener drops open connections too, so that
		// keep-alive ones do not outlive the "refused" port.
		s.ln.Close()
	}
	s.mode = m
	return nil
}

// Close stops the sink and turns away any request it holds.
func (s *Sink) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	ln := s.ln
	s.mu.Unlock()
	ln.Close()
	s.wg.Wait()
}

// handle answers one delivery.
func (s *Sink) handle(c *fasthttp.RequestCtx) {
	ep, ok := s.endpointOf(string(c.Path()))
	if !ok || !c.IsPost() {
		s.tally.Foreign()
		c.Error("not a delivery of this run", fasthttp.StatusNotFound)
		return
	}
	s.mu.Lock()
	mode, g := s.mode, s.gate
	s.mu.Unlock()
	switch mode {
	case SinkUnavailable, SinkRefuse:
		c.Error("receiver down", fasthttp.StatusServiceUnavailable)
		return
	case SinkUp:
		if s.opts.Delay == 0 {
			if status, msg, _ := s.answer(ep, c.PostBody(), nil); status != fasthttp.StatusOK {
				c.Error(msg, status)
			}
			return
		}
		g = nil
	}
	// A held or delayed request takes over its connection, so that it can
	// watch for the sender going away while it waits: it must not count a
	// delivery whose sender gave up or died (as in the backlog scenario's
	// kill) and will send it again. Its answer closes the connection.
	body := bytes.Clone(c.PostBody())
	c.HijackSetNoResponse(true)
	c.Hijack(func(conn net.Conn) { s.wait(conn, g, ep, body) })
}

// answer tallies a delivery the sink takes in, after the sink's delay, and
// returns the status to answer it with and, for an error, its message. It
// reports false, having counted nothing, when gone is closed before the
// delivery would be counted: its sender is no longer waiting.
func (s *Sink) answer(ep int, body []byte, gone <-chan struct{}) (int, string, bool) {
	now := time.Now()
	seq, sent, ok := ParsePayload(body)
	if !ok {
		s.tally.Foreign()
		return fasthttp.StatusBadRequest, "no seq and sent in the payload", true
	}
	if s.opts.FailRate > 0 && s.opts.Rand() < s.opts.FailRate {
		s.tally.Failed()
		return fasthttp.StatusInternalServerError, "deliberate failure", true
	}
	if s.opts.Delay > 0 {
		t := time.NewTimer(s.opts.Delay)
		select {
		case <-t.C:
		case <-gone:
			t.Stop()
			return 0, "", false
		}
	}
	select {
	case <-gone:
		return 0, "", false
	default:
	}
	s.tally.Delivered(ep, seq, sent, now)
	return fasthttp.StatusOK, "", true
}

// wait answers a delivery on the connection it took over: once gate g
// opens when the sink held it (g is nil when it did not), after the sink's
// delay. A read on the connection ends when the sender closes it.
func (s *Sink) wait(conn net.Conn, g *gate, ep int, body []byte) {
	if g != nil {
		s.held.Add(1)
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		// Senders do not pipeline; anything they send before the answer
		// is dropped with the connection.
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() {
		// The connection's buffered reader is reused once wait returns:
		// the watch must be done with it first.
		conn.SetReadDeadline(time.Now()) //nolint:errcheck // a closed connection ends the read anyway
		<-gone
	}()
	status, msg := fasthttp.StatusOK, ""
	if g != nil {
		status, msg = fasthttp.StatusServiceUnavailable, "sink closed"
		select {
		case <-g.ch:
			status, msg = g.status, "receiver down"
		case <-gone:
			s.held.Add(-1)
			if !s.cutOff(g) {
				s.tally.Abandoned()
			}
			return
		case <-s.closed:
		}
		s.held.Add(-1)
		if status == fasthttp.StatusOK {
			select {
			case <-gone:
				s.tally.Abandoned()
				return
			default:
			}
		}
	}
	if status == fasthttp.StatusOK {
		var ok bool
		if status, msg, ok = s.answer(ep, body, gone); !ok {
			return
		}
	}
	writeResponse(conn, status, msg)
}

// cutOff reports whether the sink itself ended the wait at gate g, by
// closing or by turning held requests away (which closes their
// connections in refuse mode), rather than the sender going away.
func (s *Sink) cutOff(g *gate) bool {
	select {
	case <-s.closed:
		return true
	case <-g.ch:
		return g.status != fasthttp.StatusOK
	default:
		return false
	}
}

// writeResponse writes a whole HTTP/1.1 response on a connection a held
// or delayed request took over, and says that the connection closes after
// it.
func writeResponse(w io.Writer, status int, msg string) {
	var resp fasthttp.Response
	resp.SetStatusCode(status)
	resp.SetConnectionClose()
	if msg != "" {
		resp.Header.SetContentType("text/plain; charset=utf-8")
		resp.SetBodyString(msg)
	}
	resp.WriteTo(w) //nolint:errcheck // a sender that went away gets nothing
}

// heldCount returns how many requests the sink is holding.
func (s *Sink) heldCount() int64 { return s.held.Load() }

func (s *Sink) endpointOf(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, s.prefix)
	if !ok {
		return 0, false
	}
	ep, err := strconv.Atoi(rest)
	if err != nil || ep < 0 || ep >= s.opts.Endpoints {
		return 0, false
	}
	return ep, true
}

// ParsePayload reads the sequence number and the send time (unix
// nanoseconds) from a delivered payload, as AppendPayload wrote it. It
// scans for the two keys rather than decoding the JSON, so that the sink
// spends little of the machine's CPU, which the server shares.
func ParsePayload(b []byte) (seq, sent int64, ok bool) {
	seq, ok1 := intAfter(b, `"seq":`)
	sent, ok2 := intAfter(b, `"sent":`)
	return seq, sent, ok1 && ok2
}

func intAfter(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	n := 0
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b[:n]), 10, 64)
	return v, err == nil
}

// padChunk is what the padding field is made of, appended a chunk at a
// time so that a 64 KiB payload costs a few copies.
var padChunk = strings.Repeat("x", 4096)

// discardLog swallows the HTTP servers' own error logs: connection resets
// are expected when a server under test is stopped.
var discardLog = log.New(io.Discard, "", 0)

// AppendPayload appends a message payload of exactly size bytes when size
// allows (else the shortest possible): the sequence number, the send time
// in unix nanoseconds, and a padding field that makes up the size.
func AppendPayload(b []byte, seq, sent int64, size int) []byte {
	start := len(b)
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"sent":`...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, `,"pad":"`...)
	pad := size - (len(b) - start) - len(`"}`)
	for pad > 0 {
		n := min(pad, len(padChunk))
		b = append(b, padChunk[:n]...)
		pad -= n
	}
	return append(b, `"}`...)
}

// ceilingServer is the handler of the ceiling-http scenario: it reads the
// body and answers 200 with nothing else, the least an HTTP server can do.
func ceilingServer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, maxDeliveryBody)) //nolint:errcheck // a short read only ends the request
		w.WriteHeader(http.StatusOK)
	})
}

// waitContext waits for d or until ctx ends, and reports whether d passed.
func waitContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
