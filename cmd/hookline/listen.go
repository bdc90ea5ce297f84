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
	"strings"
	"time"

	"github.com/spf13/cobra"

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
	)
	cmd := &cobra.Command{
		Use:   "listen SOURCE --forward-to URL",
		Short: "Receive a source's requests live and re-send them to a local URL",
		Long: `Receive a source's requests live and re-send them to a local URL.

listen connects to the server's stream of the source (an ID or uid) and
re-sends each verified request it receives to --forward-to, with the same
method, the original query string, headers and body byte for byte, so a
receiver on your machine gets real provider webhooks without being reachable
from the internet. It prints "forwarding" once its stream is open (every
request the source receives from then on is re-sent), then one line per
request. When the connection drops it reconnects and resumes after the last
request it handled, so none is missed or sent twice; --after starts after a
given request ID instead of after the newest one stored when listen starts.

The API token is read from HOOKLINE_TOKEN (or HOOKLINE_ADMIN_TOKEN).`,
		Example: `  HOOKLINE_TOKEN=... hookline listen github --forward-to http://localhost:3000/hooks`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			u, err := url.Parse(forwardTo)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("--forward-to %q: want an http:// or https:// URL such as http://localhost:3000/hooks", forwardTo)
			}
			l := &listener{api: c, source: args[0], forward: u, lastID: after,
				out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), stream: streamClient(), local: forwardClient()}
			return l.run(cmd.Context())
		},
	}
	cf.bind(cmd, getenv)
	cmd.Flags().StringVar(&forwardTo, "forward-to", "", "local URL to re-send each request to (required)")
	cmd.Flags().StringVar(&after, "after", "", "start after this request ID (in_...) instead of after the newest one stored")
	_ = cmd.MarkFlagRequired("forward-to")
	return cmd
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
	api     *apiClient
	source  string
	forward *url.URL
	// lastID is the last request handled, or the starting point the
	// server announced: the stream resumes after it.
	lastID        string
	out, errOut   io.Writer
	stream, local *http.Client
	// opened is set when the first stream has opened: from then on no
	// request the source receives is missed.
	opened bool
}

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
		fmt.Fprintf(l.errOut, "connection lost: %v; reconnecting in %v\n", err, backoff)
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
				fmt.Fprintf(l.out, "forwarding %s to %s\n", l.source, l.forward)
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
	BodyBase64 string              `json:"bodyBase64"`
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
	start := time.Now()
	status, err := l.send(ctx, &x, body)
	took := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil && err != nil {
		return // interrupted: not handled, so resumed at the next start
	}
	result := ""
	if err != nil {
		result = "error: " + err.Error()
	} else {
		result = fmt.Sprintf("%d %s", status, http.StatusText(status))
	}
	// The server sends the path masked; an older one sent it in clear,
	// and terminals are shared and recorded.
	fmt.Fprintf(l.out, "%s %s %s -> %s (%v)\n", start.Format("15:04:05"), x.Method, inbound.MaskPath(x.Path), result, took)
	l.lastID = x.ID
	if l.lastID == "" {
		l.lastID = id
	}
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
