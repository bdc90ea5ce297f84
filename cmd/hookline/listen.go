package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
)

// Bounds of `hookline listen`.
const (
	// listenMinBackoff and listenMaxBackoff bound the wait before each
	// reconnection, doubled after each failure.
	listenMinBackoff = 500 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	// listenIdle is how long a stream may stay silent before it is taken
	// for dead (a laptop that slept, a dropped NAT mapping); the server
	// sends a keep-alive every 15 seconds.
	listenIdle = 45 * time.Second
	// listenMaxEvent bounds one event: a source's largest body, 64 MiB,
	// twice over (as text and as base64) with room for the rest.
	listenMaxEvent = 256 << 20
	// listenForwardTimeout bounds each request to the local receiver.
	listenForwardTimeout = 30 * time.Second
)

func listenCommand(getenv func(string) string) *cobra.Command {
	var (
		cf        clientFlags
		forwardTo string
		after     string
		body      bool
	)
	cmd := &cobra.Command{
		Use:   "listen SOURCE... [--forward-to URL]",
		Short: "Receive sources' requests live, print them, and re-send them to a local URL",
		Long: `Receive the requests of one or more sources live, print a line for each, and
with --forward-to re-send them to a local URL.

listen connects to the server's stream of each source (an ID or uid) and
prints a line for each verified request it receives: the time, the source,
the request's ID (in_...) and event type, its method and masked path. With
--forward-to it also re-sends the request there, with the same method, the
original query string, headers and body byte for byte, so a receiver on
your machine gets real provider webhooks without being reachable from the
internet, and the line ends with the receiver's answer. It prints
"forwarding" (or "listening") for each source once its stream is open:
every request the source receives from then on is handled.

When a connection drops it reconnects and resumes after the last request it
handled, so none is missed or sent twice; --after starts after a given
request ID instead of after the newest one stored when listen starts. When
the server cannot be reached at the start, listen says so and exits with
status 1; a wrong token or an unknown source ends it the same way.

The API token is read from HOOKLINE_TOKEN (or HOOKLINE_ADMIN_TOKEN); the
server from --server or HOOKLINE_SERVER.`,
		Example: `  HOOKLINE_TOKEN=... hookline listen github --forward-to http://localhost:3000/hooks
  hookline listen github stripe --body`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			var u *url.URL
			if forwardTo != "" {
				u, err = url.Parse(forwardTo)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return usagef("--forward-to %q: want an http:// or https:// URL such as http://localhost:3000/hooks", forwardTo)
				}
			}
			if after != "" && len(args) > 1 {
				return usagef("--after names a request of one source: give one source with it")
			}
			var mu sync.Mutex
			out, errOut := &syncWriter{&mu, cmd.OutOrStdout()}, &syncWriter{&mu, cmd.ErrOrStderr()}
			g, ctx := errgroup.WithContext(cmd.Context())
			for _, source := range args {
				l := &listener{api: c, source: source, forward: u, lastID: after, body: body,
					out: out, errOut: errOut, stream: streamClient(), local: forwardClient()}
				g.Go(func() error { return l.run(ctx) })
			}
			return g.Wait()
		},
	}
	cf.bind(cmd, getenv)
	cmd.Flags().StringVar(&forwardTo, "forward-to", "", "local URL to re-send each request to (default: print the requests only)")
	cmd.Flags().StringVar(&after, "after", "", "start after this request ID (in_...) instead of after the newest one stored; one source only")
	cmd.Flags().BoolVar(&body, "body", false, "print each request's body too, under its line")
	return cmd
}

// syncWriter serializes the writes of several listeners to one output.
// The standard output and error share one lock, so that their lines do
// not interleave on a terminal.
type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// streamClient has no overall timeout, since a stream lasts as long as
// the user wants; connecting and the first answer are bounded.
func streamClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
}

// forwardClient sends to the local receiver. It follows no redirects: the
// receiver's answer is what the developer needs to see.
func forwardClient() *http.Client {
	return &http.Client{
		Timeout:       listenForwardTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// listener is one run of `hookline listen`.
type listener struct {
	api    *apiClient
	source string
	// forward is the local URL requests are re-sent to; nil prints them
	// only.
	forward *url.URL
	// body prints each request's body under its line.
	body bool
	// lastID is the last request handled, or the starting point the
	// server announced: the stream resumes after it.
	lastID        string
	out, errOut   io.Writer
	stream, local *http.Client
	// opened is set when the first stream has opened: from then on no
	// request the source receives is missed.
	opened bool
}

// unreachableError is a stream that got no answer from the server.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }

func (e *unreachableError) Unwrap() error { return e.err }

// fatalError ends listen instead of reconnecting: a wrong token or source
// will not fix itself.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// run streams until ctx ends, reconnecting with a bounded backoff. It
// prints "forwarding" once the server has opened the first stream, which
// fixes where the stream starts: a request sent after that line is
// forwarded, even if it arrives before the first event is read.
func (l *listener) run(ctx context.Context) error {
	backoff := listenMinBackoff
	for {
		connected, err := l.connect(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if connected {
			backoff = listenMinBackoff
		}
		if err == nil {
			err = errors.New("the server closed the stream")
		}
		var down *unreachableError
		if errors.As(err, &down) && !l.opened {
			// Never connected: a wrong --server, or no server yet. Say so
			// rather than retry in silence.
			return down
		}
		fmt.Fprintf(l.errOut, "%s: connection lost: %v; reconnecting in %v\n", l.source, err, backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, listenMaxBackoff)
	}
}

// connect reads one connection's stream until it ends; connected reports
// whether the server accepted it.
func (l *listener) connect(ctx context.Context) (connected bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := l.api.request(ctx, "GET", "/api/v1/source/"+url.PathEscape(l.source)+"/stream", nil)
	if err != nil {
		return false, &fatalError{err}
	}
	req.Header.Set("Accept", "text/event-stream")
	if l.lastID != "" {
		req.Header.Set("Last-Event-ID", l.lastID)
	}
	resp, err := l.stream.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			err = &unreachableError{unreachable(l.api.base, err)}
		}
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		err := readAPIError("GET", req.URL.Path, resp.StatusCode, data)
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
			return false, &fatalError{err}
		}
		return false, err
	}

	// A silent connection is cut, and the loop reconnects.
	idle := time.AfterFunc(listenIdle, cancel)
	defer idle.Stop()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), listenMaxEvent)
	var id, event string
	var data []string
	for sc.Scan() {
		idle.Reset(listenIdle)
		line := sc.Text()
		if line == "" { // the end of an event
			switch {
			case event == "request" && len(data) > 0:
				l.handle(ctx, id, strings.Join(data, "\n"))
			case event == "" && len(data) == 0 && id != "":
				// The stream's starting point, sent first: a reconnection
				// before the first request resumes there.
				l.lastID = id
			}
			if !l.opened {
				// The server fixed the starting point before its first
				// bytes, which end here.
				l.opened = true
				if l.forward != nil {
					fmt.Fprintf(l.out, "forwarding %s to %s\n", l.source, l.forward)
				} else {
					fmt.Fprintf(l.out, "listening to %s (printing only; --forward-to URL re-sends the requests)\n", l.source)
				}
			}
			id, event, data = "", "", nil
			continue
		}
		if strings.HasPrefix(line, ":") { // a comment: a keep-alive
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			id = value
		case "event":
			event = value
		case "data":
			data = append(data, value)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	return true, nil
}

// streamedRequest is the part of a streamed request that listen re-sends.
type streamedRequest struct {
	ID         string              `json:"id"`
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	Query      string              `json:"query"`
	Headers    map[string][]string `json:"headers"`
	Body       *string             `json:"body"`
	BodyBase64 string              `json:"bodyBase64"`
	EventType  *string             `json:"eventType"`
}

// handle re-sends one streamed request and prints a line about it. A
// failure of the local receiver is printed, not fatal: the developer's
// app is often restarting.
func (l *listener) handle(ctx context.Context, id, data string) {
	var x streamedRequest
	err := json.Unmarshal([]byte(data), &x)
	var body []byte
	if err == nil {
		body, err = base64.StdEncoding.DecodeString(x.BodyBase64)
	}
	if err != nil {
		fmt.Fprintf(l.errOut, "skipping request %s: cannot read it: %v\n", id, err)
		l.lastID = id
		return
	}
	if x.ID == "" {
		x.ID = id
	}
	eventType := "-"
	if x.EventType != nil && *x.EventType != "" {
		eventType = *x.EventType
	}
	start := time.Now()
	// The server sends the path masked; an older one sent it in clear,
	// and terminals are shared and recorded.
	line := fmt.Sprintf("%s %s %s %s %s %s", start.Format("15:04:05"), l.source, x.ID, eventType, x.Method, inbound.MaskPath(x.Path))
	if l.forward != nil {
		status, err := l.send(ctx, &x, body)
		took := time.Since(start).Round(time.Millisecond)
		if ctx.Err() != nil && err != nil {
			return // interrupted: not handled, so resumed at the next start
		}
		if err != nil {
			line += " -> error: " + err.Error()
		} else {
			line += fmt.Sprintf(" -> %d %s", status, http.StatusText(status))
		}
		line += fmt.Sprintf(" (%v)", took)
	} else {
		line += fmt.Sprintf(" (%d bytes)", len(body))
	}
	line += "\n"
	if l.body {
		switch {
		case x.Body != nil:
			line += *x.Body + "\n"
		case len(body) > 0:
			line += "(" + strconv.Itoa(len(body)) + " bytes, not text; base64) " + x.BodyBase64 + "\n"
		}
	}
	io.WriteString(l.out, line)
	l.lastID = x.ID
}

// send re-sends a request to the local URL and returns its status.
func (l *listener) send(ctx context.Context, x *streamedRequest, body []byte) (int, error) {
	u := *l.forward
	if x.Query != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += x.Query
	}
	req, err := http.NewRequestWithContext(ctx, x.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = forwardHeaders(x.Headers)
	resp, err := l.local.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// forwardHeaders returns the original headers minus those that belong to
// the original connection, named in hookline.HopHeaders or in its Connection
// header.
func forwardHeaders(in map[string][]string) http.Header {
	drop := map[string]bool{}
	for _, name := range hookline.HopHeaders {
		drop[strings.ToLower(name)] = true
	}
	for k, vals := range in {
		if strings.EqualFold(k, "Connection") {
			for _, v := range vals {
				for _, name := range strings.Split(v, ",") {
					drop[strings.ToLower(strings.TrimSpace(name))] = true
				}
			}
		}
	}
	h := make(http.Header, len(in))
	for k, v := range in {
		if !drop[strings.ToLower(k)] {
			h[k] = append([]string(nil), v...)
		}
	}
	return h
}
