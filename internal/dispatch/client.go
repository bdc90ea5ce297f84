package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http/httpguts"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/conntrack"
)

// Client sends the requests of deliveries. NewClient builds the one the
// server uses; tests put fakes in its place.
type Client interface {
	// Do sends req and fills resp. It returns an error with
	// resp.StatusCode 0 when no response came, and an error with the
	// status and headers filled when the body broke off.
	Do(req *Request, resp *Response) error
	// Close closes every connection, which cuts off the requests in
	// flight, and fails every request made after it. The dispatcher calls
	// it when it is done, or when Stop runs out of time.
	Close()
}

// Request is one delivery's POST.
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
	// Deadline bounds the whole exchange: connecting, sending, and reading
	// the response to its end.
	Deadline time.Time
	// MaxBody is how much of the response body is kept.
	MaxBody int
}

// Response is what the receiver answered.
type Response struct {
	StatusCode int
	Header     http.Header
	// Body holds at most Request.MaxBody bytes of the response body. Do
	// appends to the Body it is given, so that a caller can reuse one
	// buffer from request to request.
	Body []byte
	// Truncated reports that the body went on past MaxBody.
	Truncated bool
}

// drainLimit is how much of a response past Request.MaxBody is read and
// thrown away so that the connection can carry the next request. Beyond
// it, a new connection costs less than reading on.
const drainLimit = 256 << 10

// errClosed fails the requests made after Close.
var errClosed = errors.New("the dispatcher is shutting down")

// ErrInvalidRequest is the kind of error Do returns for a request it
// cannot send at all, such as one with a line break in a header value:
// sending it again fails the same way, and the receiver is not to blame.
var ErrInvalidRequest = errors.New("invalid request")

// hopHeader holds hookline.HopHeaders, which the client sets itself: a
// forwarded request's own are not passed on.
var hopHeader = func() map[string]bool {
	m := make(map[string]bool, len(hookline.HopHeaders))
	for _, h := range hookline.HopHeaders {
		m[h] = true
	}
	return m
}()

// HTTPClient is the Client deliveries go out with: HTTP/1.1 with
// keep-alive over TCP or TLS, built on fasthttp, which sends a request and
// reads its response in the calling goroutine and reuses its buffers, for
// about half the CPU per request of net/http's client.
//
// It dials with the dialer it was made with, so the server's guard against
// private addresses sees every connection, and it uses no proxy, which
// would dial for it. It follows no redirect: the 3xx response is the
// answer, recorded as a failure, because a redirect could lead the request
// where the endpoint's owner did not point it. It sends the URL's path and
// query as written.
//
// A POST that meets a kept-alive connection the receiver has just closed
// (the connection ends before any byte of a response) is sent once more on
// a new connection, as the receiver did not answer it; at worst the
// receiver sees it twice, which webhook receivers handle by its
// webhook-id.
type HTTPClient struct {
	fc     *fasthttp.Client
	dialer *net.Dialer
	// ctx is canceled by Close, which stops dials in progress.
	ctx    context.Context
	cancel context.CancelFunc

	conns conntrack.Set
}

// NewClient returns the client deliveries go out with. It dials with
// dialer, which the server builds to refuse private addresses; nil means a
// plain dialer, for tests. A request waits up to maxWait for a connection
// when a host already has as many as the client opens to one.
//
// The client keeps many idle connections per host, as a busy endpoint
// takes many deliveries at once and a new TLS connection per delivery
// would cost more than the delivery.
func NewClient(dialer *net.Dialer, maxWait time.Duration) *HTTPClient {
	if dialer == nil {
		dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	c := &HTTPClient{dialer: dialer}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.fc = &fasthttp.Client{
		DialTimeout:         c.dial,
		MaxConnsPerHost:     4096,
		MaxConnWaitTimeout:  maxWait,
		MaxIdleConnDuration: 90 * time.Second,
		ConnPoolStrategy:    fasthttp.LIFO,
		// Response headers are kept with each attempt and must fit in the
		// read buffer; 64 KiB is far more than any receiver needs to say.
		ReadBufferSize:            64 << 10,
		StreamResponseBody:        true,
		DisablePathNormalizing:    true,
		NoDefaultUserAgentHeader:  true,
		MaxIdemponentCallAttempts: 2,
		RetryIfErr:                retryStale,
	}
	return c
}

// retryStale allows the one retry of a request whose connection ended
// before any response: on a kept-alive connection, the receiver closed it
// while the request was on its way. Timeouts and everything else are the
// attempt's result.
func retryStale(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	stale := errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
	return false, attempts == 1 && stale
}

// Do implements Client.
func (c *HTTPClient) Do(req *Request, resp *Response) error {
	freq := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(freq)
	for k, vs := range req.Header {
		if hopHeader[k] {
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("%w: header name %q is not a token", ErrInvalidRequest, k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("%w: the value of header %s holds a control character", ErrInvalidRequest, k)
			}
			freq.Header.Add(k, v)
		}
	}
	freq.Header.SetMethod(http.MethodPost)
	freq.SetRequestURI(req.URL)
	freq.SetBodyRaw(req.Body)

	fresp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(fresp)
	if err := c.fc.DoDeadline(freq, fresp, req.Deadline); err != nil {
		return withReadCause(err, fresp)
	}
	resp.StatusCode = fresp.StatusCode()
	resp.Header = responseHeader(&fresp.Header)
	body := fresp.BodyStream()
	if body == nil {
		// A response that cannot have a body (204, 304) has no stream.
		resp.Body = append(resp.Body, fresp.Body()...)
		return nil
	}
	var err error
	resp.Body, resp.Truncated, err = readCapped(body, resp.Body, req.MaxBody)
	if resp.Truncated {
		// Read on a little, so that the connection can carry the next
		// request; beyond drainLimit a new connection costs less.
		_, _ = io.CopyN(io.Discard, body, drainLimit)
	}
	_ = fresp.CloseBodyStream()
	return err
}

// readCapped reads r into buf until EOF or until it holds more than limit
// bytes. It returns at most limit bytes and whether the body went on.
func readCapped(r io.Reader, buf []byte, limit int) ([]byte, bool, error) {
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(512, cap(buf)), limit+1-len(buf)))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf[:limit], true, nil
		}
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}

// commonHeaders are response header names most receivers send; their
// names are not copied for every response.
var commonHeaders = []string{"Content-Length", "Content-Type", "Date", "Server", "Connection", "Cache-Control",
	"Vary", "X-Request-Id", "Access-Control-Allow-Origin", "Strict-Transport-Security", "X-Content-Type-Options"}

// responseHeader copies h, which fasthttp reuses, into an http.Header: all
// values in one string, with one slice behind them, as the attempt keeps
// them for as long as it is kept.
func responseHeader(h *fasthttp.ResponseHeader) http.Header {
	n, size := 0, 0
	for _, v := range h.All() {
		n++
		size += len(v)
	}
	var b strings.Builder
	b.Grow(size)
	for _, v := range h.All() {
		b.Write(v)
	}
	all := b.String()
	out := make(http.Header, n)
	vals := make([]string, n)
	i, off := 0, 0
	for k, v := range h.All() {
		vals[i] = all[off : off+len(v)]
		off += len(v)
		name := headerName(k)
		if prev, ok := out[name]; ok {
			out[name] = append(prev, vals[i])
		} else {
			out[name] = vals[i : i+1 : i+1]
		}
		i++
	}
	return out
}

// headerName returns k as a string, without a copy for a common name.
func headerName(k []byte) string {
	for _, name := range commonHeaders {
		if string(k) == name {
			return name
		}
	}
	return string(k)
}

// Close implements Client.
func (c *HTTPClient) Close() {
	c.cancel()
	c.conns.Close()
	c.fc.CloseIdleConnections()
}

// dial opens a connection for fasthttp, through the client's dialer, and
// tracks it until it is closed, so that Close can cut it off.
func (c *HTTPClient) dial(addr string, timeout time.Duration) (net.Conn, error) {
	ctx := c.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if c.ctx.Err() != nil {
			return nil, errClosed
		}
		return nil, err
	}
	cn, err := c.conns.Add(nc)
	if err != nil {
		return nil, errClosed
	}
	return newConn(cn), nil
}

// conn is a connection of the client. It keeps the last error a read on
// it returned, which fasthttp does not pass on when the connection ends
// before the first byte of a response: fasthttp then reports a connection
// the receiver reset as one it closed.
type conn struct {
	net.Conn
	local   localAddr
	readErr atomic.Pointer[error]
}

// localAddr is a connection's local address that leads back to the
// connection. fasthttp keeps it with the response (Response.LocalAddr),
// also over TLS, whose connection reports the one beneath, so that Do
// finds the connection a failed request went out on last.
type localAddr struct {
	net.Addr
	conn *conn
}

func newConn(nc net.Conn) *conn {
	c := &conn{Conn: nc}
	c.local = localAddr{Addr: nc.LocalAddr(), conn: c}
	return c
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.readErr.Store(&err)
	}
	return n, err
}

func (c *conn) LocalAddr() net.Addr { return &c.local }

// withReadCause adds to err, when fasthttp says that the connection ended
// before any byte of a response, the error the connection's last read
// actually got, such as a reset.
func withReadCause(err error, resp *fasthttp.Response) error {
	if !errors.Is(err, fasthttp.ErrConnectionClosed) {
		return err
	}
	la, ok := resp.LocalAddr().(*localAddr)
	if !ok {
		return err
	}
	cause := la.conn.readErr.Load()
	if cause == nil || errors.Is(*cause, io.EOF) {
		return err
	}
	return fmt.Errorf("%w: %w", err, *cause)
}
