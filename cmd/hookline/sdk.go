package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	svix "github.com/svix/svix-webhooks/go"
)

// maxAnswer bounds one API answer the command line reads.
const maxAnswer = 16 << 20

// sdkClient calls a server's API through the Svix Go SDK, which hookline's
// API speaks. It keeps the last answer's body as the server sent it, for
// --output json.
type sdkClient struct {
	*svix.Svix
	server string
	last   *lastAnswer
}

// sdk returns an SDK client for the flags. The SDK does not retry: a
// script that wants retries decides them, and an error comes at once.
func (f *clientFlags) sdk(getenv func(string) string) (*sdkClient, error) {
	c, err := f.client(getenv)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(c.base)
	last := &lastAnswer{}
	noRetries := []time.Duration{}
	s, err := svix.New(c.token, &svix.SvixOptions{
		ServerUrl:     u,
		RetrySchedule: &noRetries,
		TransportWrapper: func(rt http.RoundTripper) http.RoundTripper {
			last.next = rt
			return last
		},
	})
	if err != nil {
		return nil, err
	}
	return &sdkClient{Svix: s, server: c.base, last: last}, nil
}

// raw returns the body of the last answer, as the server sent it.
func (c *sdkClient) raw() []byte { return c.last.body }

// err turns an error of the SDK into the command line's: an API error
// with the API's code and detail, or a server that cannot be reached.
func (c *sdkClient) err(err error) error {
	if err == nil {
		return nil
	}
	var se *svix.Error
	if errors.As(err, &se) {
		return readAPIError(c.last.method, c.last.path, se.Status(), se.Body())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return unreachable(c.server, err)
	}
	return err
}

// unreachable explains a request that got no answer from the server.
func unreachable(server string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("cannot reach the hookline server at %s: %w; is it running there? Name another with --server or HOOKLINE_SERVER", server, err)
}

// lastAnswer is a RoundTripper that keeps the method and path of the last
// request and the body of its answer, read in full up to maxAnswer.
type lastAnswer struct {
	next         http.RoundTripper
	method, path string
	body         []byte
	// date is the server's clock at the answer (its Date header), to the
	// second; zero when it sent none.
	date time.Time
}

func (l *lastAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	l.method, l.path, l.body = req.Method, req.URL.Path, nil
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("the answer is larger than %d MiB; ask for less with --limit", maxAnswer>>20)
	}
	l.body = data
	l.date, _ = http.ParseTime(resp.Header.Get("Date"))
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp, nil
}

// outputFlag is --output: how a command prints what the API answered.
type outputFlag struct{ format string }

func (o *outputFlag) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "table",
		`"table" for people, or "json" for scripts: the API's JSON answer as is`)
}

// check refuses an unknown format before anything is sent.
func (o *outputFlag) check() error {
	switch o.format {
	case "table", "json":
		return nil
	}
	return usagef("--output %q: want table or json", o.format)
}

func (o *outputFlag) json() bool { return o.format == "json" }

// say prints a sentence for people; with --output json, where the API
// answered nothing, it prints nothing.
func (o *outputFlag) say(cmd *cobra.Command, format string, args ...any) {
	if !o.json() {
		fmt.Fprintf(cmd.OutOrStdout(), format, args...)
	}
}

// writeRaw prints an API answer as is, on a line of its own.
func writeRaw(w io.Writer, data []byte) error {
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "%s\n", data)
	return err
}

// send makes an API call with body as the exact bytes of the request,
// and returns the answer's body as the server sent it. Publishing uses it
// rather than the SDK, whose MessageIn holds the payload as a map: that
// would reorder its keys and round its large numbers, where hookline sends
// the payload byte for byte as given.
func (c *apiClient) send(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unreachable(c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("%s %s: the answer is larger than %d MiB; ask for less with --limit", method, path, maxAnswer>>20)
	}
	if resp.StatusCode >= 300 {
		return nil, readAPIError(method, req.URL.Path, resp.StatusCode, data)
	}
	return data, nil
}
