package dispatch

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/encode"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/tracing"
	"github.com/hookline/hookline/webhook"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

const (
	// keepBuffer is the largest response buffer a worker keeps for its
	// next request; rare large responses do not pin memory in every worker.
	keepBuffer = 16 << 10
	// maxLocation caps the redirect target quoted in an attempt's error.
	maxLocation = 1024
)

// worker holds the buffers one worker reuses from request to request.
type worker struct {
	sig  []byte // the signature header value
	body []byte // the response body
}

// send makes one attempt at a task and returns its result and what it
// showed of the endpoint's health. It returns false when the request was
// cut off by an abort of the dispatcher: that is no attempt, and the
// delivery goes back to the store unsent. With a tracer, the attempt is a
// span.
func (d *Dispatcher) send(w *worker, t *store.Task) (store.Result, health, bool) {
	if d.opts.Tracer == nil {
		return d.attempt(w, t, nil)
	}
	span := d.startAttempt(t)
	res, h, sent := d.attempt(w, t, span)
	endAttempt(span, &res, sent)
	return res, h, sent
}

// startAttempt starts the client span of an attempt at t, a child of the
// span that published its message when the message kept one. Its
// attributes name where the request goes by scheme, host and port only:
// an endpoint URL's path and query may hold the receiver's secrets.
func (d *Dispatcher) startAttempt(t *store.Task) trace.Span {
	parent := tracing.WithTraceParent(context.Background(), t.Message.TraceParent)
	attrs := append(tracing.ServerAddress(t.Endpoint.URL),
		semconv.HTTPRequestMethodPost,
		attribute.String("hookline.app_id", t.Delivery.AppID),
		attribute.String("hookline.message_id", t.Delivery.MessageID),
		attribute.String("hookline.endpoint_id", t.Delivery.EndpointID),
		attribute.String("hookline.delivery_id", t.Delivery.ID),
		attribute.Int("hookline.attempt", t.Delivery.Attempts+1),
	)
	_, span := d.opts.Tracer.Start(parent, "deliver", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return span
}

// endAttempt ends the span of an attempt with its outcome: the response's
// status code, or the error that ended it, and what became of the
// delivery.
func endAttempt(span trace.Span, res *store.Result, sent bool) {
	a := res.Attempt
	switch {
	case !sent:
		span.SetStatus(codes.Error, "cut off by shutdown; the delivery is due again")
	case a == nil:
	default:
		if a.StatusCode != 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(a.StatusCode))
		}
		if a.Status != hookline.StatusSuccess {
			desc := a.Error
			if desc == "" {
				desc = "the endpoint answered " + strconv.Itoa(a.StatusCode)
			}
			span.SetStatus(codes.Error, desc)
		}
		span.SetAttributes(attribute.String("hookline.delivery_status", res.Delivery.Status.String()))
	}
	span.End()
}

// attempt is send, with span the attempt's span when there is a tracer:
// its traceparent goes out with the request.
func (d *Dispatcher) attempt(w *worker, t *store.Task, span trace.Span) (store.Result, health, bool) {
	ep, msg := t.Endpoint, t.Message
	now := d.opts.Now()
	res := store.Result{Delivery: t.Delivery}
	res.Delivery.Attempts++
	res.Delivery.UpdatedAt = now
	// The attempt takes its ID when its result is written (see writeLoop).
	a := &hookline.Attempt{
		DeliveryID: t.Delivery.ID,
		AppID:      t.Delivery.AppID,
		MessageID:  t.Delivery.MessageID,
		EndpointID: t.Delivery.EndpointID,
		URL:        ep.URL,
		Trigger:    t.Delivery.Trigger,
		CreatedAt:  now,
	}
	res.Attempt = a

	body, contentType, err := msg.Payload, msg.ContentType, error(nil)
	if contentType == "" {
		body, contentType, err = encode.Body(ep.Format, msg.Payload)
	}
	if err != nil {
		// The same payload fails the same way every time: no retries.
		a.Status = hookline.StatusFail
		a.Error = err.Error()
		res.Delivery.Status = hookline.StatusFail
		res.Delivery.NextAttempt = time.Time{}
		return res, neutral, true
	}
	keys := ep.SigningKeys(now)
	w.sig = webhook.AppendSignatureHeader(w.sig[:0], keys, msg.ID, now, body)

	start := time.Now()
	req := Request{
		URL:      ep.URL,
		Header:   d.header(ep, msg, len(keys) > 0, strconv.FormatInt(now.Unix(), 10), string(w.sig), contentType),
		Body:     body,
		Deadline: start.Add(d.opts.Timeout),
		MaxBody:  d.opts.MaxResponse,
	}
	if span != nil {
		tracing.Inject(trace.ContextWithSpan(context.Background(), span), req.Header)
	}
	resp := Response{Body: w.body[:0]}
	err = d.client.Do(&req, &resp)
	if errors.Is(err, ErrInvalidRequest) {
		a.Error = err.Error()
		d.decide(&res, ep, now, 0, 0)
		return res, neutral, true
	}
	if resp.StatusCode == 0 {
		if d.ctx.Err() != nil {
			return res, neutral, false
		}
		d.sent.Add(1)
		d.failed.Add(1)
		a.Duration = time.Since(start)
		a.Error = requestError(err, d.opts.Timeout)
		d.decide(&res, ep, now, 0, 0)
		return res, strained, true
	}
	d.sent.Add(1)
	a.Duration = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.ResponseHeaders = resp.Header
	a.Response = responseText(resp.Body, resp.Truncated)
	w.body = resp.Body
	if cap(w.body) > keepBuffer {
		w.body = nil
	}

	code := resp.StatusCode
	var retryAfter time.Duration
	switch {
	case code >= 200 && code < 300:
		d.succeeded.Add(1)
	case code >= 300 && code < 400:
		d.failed.Add(1)
		a.Error = redirectError(resp.Header.Get("Location"))
		// An attempt that got a response shows its body, not its error;
		// a redirect's body is mostly empty, so the response starts with
		// where it pointed.
		if a.Response == "" {
			a.Response = a.Error
		} else {
			a.Response = a.Error + "\n\n" + a.Response
		}
	default:
		d.failed.Add(1)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now, d.opts.MaxRetryAfter)
		}
		if err != nil {
			a.Error = "read response: " + err.Error()
		}
	}
	d.decide(&res, ep, now, code, retryAfter)
	return res, healthOf(code), true
}

// header returns the headers of a delivery: the endpoint's own, then the
// ones hookline sets, which win. The signature headers go out under both
// the Standard Webhooks and the Svix names, so receivers built with
// either kind of library verify them.
func (d *Dispatcher) header(ep *hookline.Endpoint, msg *hookline.Message, signed bool, ts, sig, contentType string) http.Header {
	h := make(http.Header, len(msg.Headers)+len(ep.Headers)+8)
	// A raw message (an inbound request being forwarded) brings the
	// sender's own headers, signatures included, so that the final
	// receiver can still verify the sender.
	for k, v := range msg.Headers {
		h[k] = v
	}
	for k, v := range ep.Headers {
		h[http.CanonicalHeaderKey(k)] = []string{v}
	}
	// One backing array for all values saves an allocation per header.
	v := []string{msg.ID, ts, sig, contentType, d.opts.UserAgent}
	if signed {
		h["Webhook-Id"] = v[0:1:1]
		h["Webhook-Timestamp"] = v[1:2:2]
		h["Webhook-Signature"] = v[2:3:3]
		h["Svix-Id"] = v[0:1:1]
		h["Svix-Timestamp"] = v[1:2:2]
		h["Svix-Signature"] = v[2:3:3]
	}
	h["Content-Type"] = v[3:4:4]
	if _, ok := h["User-Agent"]; !ok || msg.Headers == nil {
		h["User-Agent"] = v[4:5:5]
	}
	return h
}

// decide sets the outcome of an attempt that got the status code (0 for
// no response): success, a retry when the schedule has one left, or
// failure, and whether to disable the endpoint.
func (d *Dispatcher) decide(res *store.Result, ep *hookline.Endpoint, now time.Time, code int, retryAfter time.Duration) {
	a, dl := res.Attempt, &res.Delivery
	if code >= 200 && code < 300 {
		a.Status = hookline.StatusSuccess
		dl.Status = hookline.StatusSuccess
		dl.NextAttempt = time.Time{}
		return
	}
	a.Status = hookline.StatusFail
	switch {
	case code == http.StatusGone:
		res.DisableEndpoint = "the endpoint answered 410 Gone"
	case ep.FailingSince != nil && now.Sub(*ep.FailingSince) >= d.opts.DisableAfter:
		res.DisableEndpoint = "no successful delivery since " + ep.FailingSince.UTC().Format(time.RFC3339) +
			", more than " + formatDuration(d.opts.DisableAfter)
	case dl.Attempts < len(d.opts.Schedule):
		dl.Status = hookline.StatusPending
		dl.NextAttempt = now.Add(max(d.jitter(d.opts.Schedule[dl.Attempts]), retryAfter))
		return
	}
	dl.Status = hookline.StatusFail
	dl.NextAttempt = time.Time{}
	if res.DisableEndpoint != "" {
		d.log.Info("disable endpoint", "app_id", dl.AppID, "endpoint_id", dl.EndpointID, "reason", res.DisableEndpoint)
	}
}

// jitter moves delay by up to Options.Jitter of itself either way.
func (d *Dispatcher) jitter(delay time.Duration) time.Duration {
	if d.opts.Jitter <= 0 || delay <= 0 {
		return delay
	}
	r := min(max(d.opts.Rand(), 0), 1)
	return time.Duration(float64(delay) * (1 + d.opts.Jitter*(2*r-1)))
}

// parseRetryAfter returns the wait a Retry-After header asks for, in
// seconds or as an HTTP date, capped at limit; 0 if there is none or it
// cannot be read.
func parseRetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var wait time.Duration
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(limit/time.Second) {
			return limit
		}
		wait = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		wait = t.Sub(now)
	}
	return min(max(wait, 0), limit)
}

// requestError describes a request that got no response in the
// receiver's terms: whether hookline could connect, what the receiver did
// with the connection, or how long it waited. The texts of the Go and
// fasthttp errors beneath are meant for the developers of HTTP clients
// and servers, and fasthttp's even asks them to change their server.
func requestError(err error, timeout time.Duration) string {
	var (
		op  *net.OpError
		dns *net.DNSError
		te  interface{ Timeout() bool }
	)
	dialing := errors.As(err, &op) && op.Op == "dial"
	switch {
	case errors.Is(err, netguard.ErrBlocked):
		// Written for the operator already: it says what to change.
		return err.Error()
	case errors.As(err, &dns):
		switch {
		case dns.IsNotFound:
			return "could not connect: no such host " + dns.Name
		case dns.IsTimeout:
			return "could not connect: timed out looking up " + dns.Name
		}
		return "could not connect: looking up " + dns.Name + ": " + dns.Err
	// context.DeadlineExceeded, os.ErrDeadlineExceeded and fasthttp's
	// timeouts all say so with Timeout.
	case errors.As(err, &te) && te.Timeout():
		if dialing {
			return "could not connect: timed out"
		}
		return "timed out after " + timeout.String() + " waiting for a response"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "could not connect: connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "could not connect: host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "could not connect: network unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset before a response"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a response"
	}
	return err.Error()
}

// redirectError explains a 3xx response, which counts as a failure.
func redirectError(location string) string {
	if location == "" {
		return "redirect not followed: the response has no Location header"
	}
	if len(location) > maxLocation {
		location = strings.ToValidUTF8(location[:maxLocation], "") + "…"
	}
	return "redirect to " + location + " not followed: set the endpoint URL to the final address"
}

// responseText turns a response body into the text an attempt keeps:
// valid UTF-8, as the stores keep text, and marked when it was cut.
func responseText(b []byte, truncated bool) string {
	if !truncated {
		if utf8.Valid(b) {
			return string(b)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	// Do not leave half a character where the cut fell.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	var s strings.Builder
	s.Grow(len(b) + len(TruncatedMark))
	s.Write(b)
	s.WriteString(TruncatedMark)
	return strings.ToValidUTF8(s.String(), "\uFFFD")
}

// formatDuration writes whole days as days, as DisableAfter usually is.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		if d == day {
			return "1 day"
		}
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return d.String()
}
