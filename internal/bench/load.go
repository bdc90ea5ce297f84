package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Load describes the publishing of one run.
type Load struct {
	// URL is where messages are posted, .../api/v1/app/{app}/msg.
	URL   string
	Token string
	// PayloadSize is the size of each message's payload in bytes.
	PayloadSize int
	// Concurrency is the number of publishers: in a closed loop each sends
	// its next message when the last is answered; in an open loop it is
	// the most requests in flight.
	Concurrency int
	// Rate, when positive, makes an open loop: message i is due at
	// start + i/Rate whether or not earlier ones were answered, and its
	// latency counts from that due time.
	Rate float64
	// Count and Duration bound the run: publishing stops at whichever
	// comes first. A Count of 0 means no count bound.
	Count    int64
	Duration time.Duration
	// Client sends the requests: NewLoadClient's, or a net/http client
	// wrapped in NetClient.
	Client Poster
	// Status is the answer that counts as accepted: 202, hookline's, when
	// 0; the ceiling scenario's plain server answers 200.
	Status int
	// Accepted, if set, receives the sequence number of each message
	// answered 202.
	Accepted *SeqSet

	// finished is set when Run returns.
	finished atomic.Bool
}

// LoadResult is what publishing measured.
type LoadResult struct {
	// Sent counts publish requests made; Accepted those answered 202.
	Sent, Accepted int64
	// Errors counts the other outcomes by status code, or "network" for
	// requests that got no answer.
	Errors map[string]int64
	// Start is when the first message was due; End when the last answer
	// came.
	Start, End time.Time
	// Ack is the time from a message's send (open loop: its due time) to
	// its 202.
	Ack Histogram
	// PerSecond counts the 202s by the second of the run they came in.
	PerSecond []int64
}

// Seconds returns the length of the publish phase.
func (r *LoadResult) Seconds() float64 { return r.End.Sub(r.Start).Seconds() }

// NewClient returns a keep-alive HTTP client for up to conns concurrent
// requests to one host: every caller keeps its own idle connection, so the
// benchmark measures requests, not TCP handshakes.
func NewClient(conns int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns + 16,
			MaxIdleConnsPerHost: conns + 16,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// Poster sends one publish request and returns the status code of the
// answer, which it reads to the end so that the connection is reused.
type Poster interface {
	Post(ctx context.Context, url, token string, body []byte) (int, error)
}

// NetClient is a Poster that sends with net/http, as the ceiling-http
// scenario does to measure plain Go HTTP.
type NetClient struct{ *http.Client }

// Post implements Poster.
func (c NetClient) Post(ctx context.Context, url, token string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	// Reading the body to the end lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// LoadClient is the Poster the publishers of hookline's scenarios share:
// fasthttp's client, like the one hookline delivers with. It costs about
// a third of the CPU of net/http's, which matters as the benchmark shares
// the machine with the server it measures.
type LoadClient struct{ c *fasthttp.Client }

// NewLoadClient returns a LoadClient for up to conns concurrent
// keep-alive requests to one host.
func NewLoadClient(conns int) LoadClient {
	return LoadClient{&fasthttp.Client{
		MaxConnsPerHost:          conns + 16,
		MaxIdleConnDuration:      time.Minute,
		MaxResponseBodySize:      1 << 20,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		Dial: func(addr string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).Dial("tcp", addr)
		},
	}}
}

// CloseIdleConnections closes the connections no request is using.
func (c LoadClient) CloseIdleConnections() { c.c.CloseIdleConnections() }

// Post implements Poster. A request in flight is not cut off when ctx
// ends; it has a minute to be answered.
func (c LoadClient) Post(_ context.Context, url, token string, body []byte) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(http.MethodPost)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.SetContentType("application/json")
	req.SetBodyRaw(body)
	if err := c.c.DoTimeout(req, resp, time.Minute); err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}

// publisher is one sending goroutine's state; results are merged at the
// end, so the hot path takes no lock but SeqSet's.
type publisher struct {
	l      *Load
	start  time.Time
	buf    []byte
	res    LoadResult
	errors map[string]int64
}

func (p *publisher) publish(ctx context.Context, seq int64, due time.Time) {
	b := append(p.buf[:0], `{"eventType":"bench.event","payload":`...)
	b = AppendPayload(b, seq, due.UnixNano(), p.l.PayloadSize)
	b = append(b, '}')
	p.buf = b
	p.res.Sent++
	code, err := p.l.Client.Post(ctx, p.l.URL, p.l.Token, b)
	now := time.Now()
	if now.After(p.res.End) {
		p.res.End = now
	}
	if err != nil {
		if ctx.Err() == nil {
			p.errors["network"]++
		}
		return
	}
	if code != p.l.Status {
		p.errors[strconv.Itoa(code)]++
		return
	}
	p.res.Accepted++
	p.res.Ack.Record(now.Sub(due))
	if p.l.Accepted != nil {
		p.l.Accepted.Add(seq)
	}
	sec := int(now.Sub(p.start) / time.Second)
	for len(p.res.PerSecond) <= sec {
		p.res.PerSecond = append(p.res.PerSecond, 0)
	}
	p.res.PerSecond[sec]++
}

// Run publishes until the count or the duration is reached or ctx ends.
func (l *Load) Run(ctx context.Context) *LoadResult {
	defer l.finished.Store(true)
	if l.Status == 0 {
		l.Status = http.StatusAccepted
	}
	start := time.Now()
	deadline := start.Add(l.Duration)
	pubs := make([]*publisher, max(l.Concurrency, 1))
	for i := range pubs {
		pubs[i] = &publisher{l: l, start: start, errors: map[string]int64{}, res: LoadResult{End: start}}
	}
	var wg sync.WaitGroup
	if l.Rate > 0 {
		l.openLoop(ctx, pubs, start, deadline, &wg)
	} else {
		var next atomic.Int64
		for _, p := range pubs {
			wg.Go(func() {
				for ctx.Err() == nil {
					seq := next.Add(1) - 1
					now := time.Now()
					if (l.Count > 0 && seq >= l.Count) || !now.Before(deadline) {
						return
					}
					p.publish(ctx, seq, now)
				}
			})
		}
	}
	wg.Wait()
	res := &LoadResult{Start: start, End: start, Errors: map[string]int64{}}
	for _, p := range pubs {
		res.Sent += p.res.Sent
		res.Accepted += p.res.Accepted
		res.Ack.Merge(&p.res.Ack)
		for k, v := range p.errors {
			res.Errors[k] += v
		}
		for i, n := range p.res.PerSecond {
			for len(res.PerSecond) <= i {
				res.PerSecond = append(res.PerSecond, 0)
			}
			res.PerSecond[i] += n
		}
		if p.res.End.After(res.End) {
			res.End = p.res.End
		}
	}
	return res
}

// openLoop hands messages to the publishers on a fixed timeline. When all
// publishers are busy the schedule does not wait: messages queue with their
// due times, so a server that falls behind shows as latency rather than as
// a lower offered rate (no coordinated omission).
func (l *Load) openLoop(ctx context.Context, pubs []*publisher, start, deadline time.Time, wg *sync.WaitGroup) {
	type due struct {
		seq int64
		at  time.Time
	}
	// The queue holds a second of messages, or at least 1,024: enough that
	// the scheduler rarely blocks, bounded so memory stays small.
	queue := make(chan due, max(int(l.Rate), 1024))
	for _, p := range pubs {
		wg.Go(func() {
			for d := range queue {
				if ctx.Err() != nil {
					continue
				}
				p.publish(ctx, d.seq, d.at)
			}
		})
	}
	defer close(queue)
	interval := float64(time.Second) / l.Rate
	for seq := int64(0); l.Count == 0 || seq < l.Count; seq++ {
		at := start.Add(time.Duration(float64(seq) * interval))
		if !at.Before(deadline) {
			return
		}
		// Sleeping for less than a few hundred microseconds costs more than
		// it is accurate; later messages catch up in a burst instead.
		if wait := time.Until(at); wait > 200*time.Microsecond {
			if !waitContext(ctx, wait) {
				return
			}
		}
		select {
		case queue <- due{seq, at}:
		case <-ctx.Done():
			return
		}
	}
}
