package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/tracing"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// handlerFunc is an HTTP handler that returns its error instead of writing
// it, so that one place (writeError) decides status and body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve serves a request and, when there are metrics, counts it under the
// pattern of the route it matched, never its path, whose IDs would make a
// series of every resource. When there is a tracer, the request is a span
// named by that pattern too.
func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil && s.tracer == nil {
		s.serveRoute(w, r)
		return
	}
	start := time.Now()
	var span trace.Span
	if s.tracer != nil {
		r, span = s.startSpan(r)
	}
	sw, _ := s.statusWriters.Get().(*statusWriter)
	if sw == nil {
		sw = new(statusWriter)
	}
	sw.ResponseWriter, sw.status = w, 0
	pattern := s.serveRoute(sw, r)
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	sw.ResponseWriter = nil
	s.statusWriters.Put(sw)
	if span != nil {
		endSpan(span, pattern, status)
	}
	if s.metrics == nil {
		return
	}
	observe, ok := s.observers[pattern]
	if !ok {
		observe = s.unmatched
	}
	observe(status, time.Since(start))
}

// startSpan starts a request's server span, as a child of the caller's
// span when the request carries a traceparent header, and returns the
// request with the span in its context. The span is named by the
// request's method until the route is known: never by its path, which
// holds IDs and, on some routes, tokens.
func (s *server) startSpan(r *http.Request) (*http.Request, trace.Span) {
	ctx := tracing.Extract(r.Context(), r.Header)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	method := tracing.Method(r.Method)
	ctx, span := s.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.URLScheme(scheme)))
	return r.WithContext(ctx), span
}

// endSpan names a request's span by the pattern of the route it matched
// ("POST /api/v1/app/{app_id}/msg"), or by its method alone when it
// matched none, and ends it with the response's status code. A 5xx is an
// error of the server's; a 4xx is the client's, and not.
func endSpan(span trace.Span, pattern string, status int) {
	if pattern != "" {
		span.SetName(pattern)
		_, route, _ := strings.Cut(pattern, " ")
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// serveRoute normalizes the request and routes it, and returns the
// pattern of the route it matched, empty when it matched none. A path that
// does not name one resource as it stands is refused, never redirected
// (checkPath). Svix's SDKs send paths without a trailing slash but people
// write them by hand with one, so a trailing slash is ignored. Unknown
// paths and wrong methods get the same JSON error bodies as every other
// failure.
func (s *server) serveRoute(w http.ResponseWriter, r *http.Request) string {
	if err := checkPath(r.URL); err != nil {
		s.writeError(w, r, err)
		return ""
	}
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		u := *r.URL
		u.Path = strings.TrimRight(p, "/")
		u.RawPath = strings.TrimRight(u.RawPath, "/")
		r = r.WithContext(r.Context()) // a shallow copy, not to change the caller's request
		r.URL = &u
	}
	_, pattern := s.mux.Handler(r)
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if r.ContentLength > s.maxBody {
		// Declared too large: refused before a byte of it is read, and
		// readBody may size its buffer by the declared length.
		s.writeError(w, r, &http.MaxBytesError{Limit: s.maxBody})
		return pattern
	}
	if size := r.ContentLength; size != 0 {
		// The body's bytes are reserved before a byte of it is read; one
		// of no declared length may take up to the limit.
		if size < 0 {
			size = s.maxBody
		}
		release, err := s.bodies.Acquire(r.Context(), size)
		if err != nil {
			s.writeError(w, r, errOverloaded(err))
			return pattern
		}
		defer release()
	}

	if pattern == "" {
		// The mux answers 404 or 405 (with an Allow header); keep its
		// status and headers but replace its text body with ours.
		rec := &statusRecorder{header: http.Header{}}
		s.mux.ServeHTTP(rec, r)
		if allow := rec.header.Values("Allow"); len(allow) > 0 {
			w.Header()["Allow"] = allow
		}
		if rec.status == http.StatusMethodNotAllowed {
			s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
				detail: fmt.Sprintf("method %s is not allowed on %s", r.Method, quote(r.URL.Path))})
			return ""
		}
		s.writeError(w, r, &apiError{status: http.StatusNotFound, code: "not_found",
			detail: "no such route: " + quote(r.URL.Path)})
		return ""
	}
	s.mux.ServeHTTP(w, r)
	return pattern
}

// statusWriter keeps the status code of the response it passes through,
// for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer, to
// flush a stream.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// statusRecorder keeps the status and headers the mux's fallback handlers
// write and discards their bodies.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return len(b), nil
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

// recoverPanics is the last line of defence: handlers must not panic on
// any input, but if one does, the client gets a 500 and the log the stack,
// and the server keeps running.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.panicked(w, r, v)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// errPanic stands for a recovered panic; it maps to 500 like any
// unexpected error.
var errPanic = errors.New("handler panicked")

// panicked logs a recovered panic with its stack and answers 500. An
// http.ErrAbortHandler is passed on: it is how a handler asks net/http to
// drop the connection.
func (s *server) panicked(w http.ResponseWriter, r *http.Request, v any) {
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	s.writeError(w, r, errPanic)
}

// adapt turns a handlerFunc into an http.Handler: errors are written by
// writeError, and a panic becomes a 500 here, inside the idempotency
// middleware, so that the key it holds is released.
func (s *server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.panicked(w, r, v)
			}
		}()
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// idempotent makes a POST carrying an idempotency-key header run at most
// once: a repeat gets the first response replayed, a repeat while the first
// is still running gets 409, and a first attempt that failed with a 5xx
// frees the key so that a retry runs again. Keys are scoped by method and
// path, so one key reused on another route is a different request, and by
// stored token, so that no caller is replayed another's response.
func (s *server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 256 {
			s.writeError(w, r, hookline.Invalid([]string{"header", "idempotency-key"}, "must be at most 256 characters"))
			return
		}
		scoped := r.Method + " " + r.URL.Path + " " + key
		if acc := accessFrom(r.Context()); acc != nil && acc.TokenID != "" {
			scoped = acc.TokenID + " " + scoped
		}
		saved, err := s.st.IdempotencyBegin(r.Context(), scoped, s.now())
		switch {
		case errors.Is(err, hookline.ErrConflict):
			s.writeError(w, r, &apiError{status: http.StatusConflict, code: "conflict",
				detail: "a request with this idempotency-key is still in progress"})
			return
		case err != nil:
			s.writeError(w, r, fmt.Errorf("begin idempotent request: %w", err))
			return
		case saved != nil:
			if len(saved.Body) > 0 {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(saved.Status)
			w.Write(saved.Body)
			return
		}

		rec := &captureWriter{ResponseWriter: w}
		// Release the key however the handler ends; adapt turns panics
		// into 500s, so only an aborted handler skips the normal path.
		finished := false
		defer func() {
			if !finished {
				s.endIdempotent(r, scoped, nil)
			}
		}()
		next.ServeHTTP(rec, r)
		finished = true
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		var resp *store.IdempotentResponse
		if rec.status < 500 {
			resp = &store.IdempotentResponse{Status: rec.status, Body: rec.body.Bytes()}
		}
		s.endIdempotent(r, scoped, resp)
	})
}

// endIdempotent saves or releases a key even if the client has gone away,
// since a key left reserved would block every retry until it expires.
func (s *server) endIdempotent(r *http.Request, key string, resp *store.IdempotentResponse) {
	ctx := context.WithoutCancel(r.Context())
	if err := s.st.IdempotencyEnd(ctx, key, resp); err != nil {
		s.log.Error("end idempotent request", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// captureWriter passes a response through and keeps a copy of its status
// and body for the idempotency store.
type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}
