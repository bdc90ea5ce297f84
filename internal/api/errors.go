package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inflight"
	"github.com/hookline/hookline/internal/ops"
)

// apiError is an error with its own status, code and detail, for failures
// that are about HTTP rather than the domain (bad JSON, a bad token, an
// unknown route) or that deserve a more precise detail than the kind's.
type apiError struct {
	status int
	code   string
	detail string
	// kind, when set, is the domain error kind this error is an instance
	// of, so errors.Is still works on it.
	kind error
	// retryAfter, when positive, is sent as the Retry-After header, in
	// seconds.
	retryAfter int
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func (e *apiError) Unwrap() error { return e.kind }

// errorBody is Svix's HttpErrorOut.
type errorBody struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// validationBody is Svix's HTTPValidationError, the body of every 422.
type validationBody struct {
	Detail []validationItem `json:"detail"`
}

// validationItem is Svix's ValidationErrorItem.
type validationItem struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// errorResponse is the one table from error kind to HTTP status and body.
func errorResponse(err error) (int, any) {
	var (
		ae  *apiError
		ve  *hookline.ValidationError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae.status, errorBody{Code: ae.code, Detail: ae.detail}
	case errors.As(err, &ve):
		items := make([]validationItem, 0, len(ve.Fields))
		for _, f := range ve.Fields {
			items = append(items, validationItem{Loc: f.Loc, Msg: f.Msg, Type: f.Type})
		}
		return http.StatusUnprocessableEntity, validationBody{Detail: items}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, errorBody{Code: "payload_too_large",
			Detail: fmt.Sprintf("Request payload is too large: the limit is %d bytes, which the server's --max-body-bytes sets.", mbe.Limit)}
	case errors.Is(err, hookline.ErrStorageFull):
		return http.StatusInsufficientStorage, errorBody{Code: "insufficient_storage",
			Detail: "The server has no room to store this; nothing was stored. Retry once space is freed."}
	case errors.Is(err, hookline.ErrUnavailable):
		return http.StatusServiceUnavailable, errorBody{Code: "store_unavailable",
			Detail: "The database cannot be reached; nothing was stored. Retry later."}
	case errors.Is(err, hookline.ErrNotFound):
		return http.StatusNotFound, errorBody{Code: "not_found", Detail: "Entity not found"}
	case errors.Is(err, hookline.ErrForbidden):
		return http.StatusForbidden, errorBody{Code: "forbidden", Detail: forbiddenDetail(err)}
	case errors.Is(err, hookline.ErrConflict):
		return http.StatusConflict, errorBody{Code: "conflict", Detail: "A conflict has occurred"}
	case errors.Is(err, hookline.ErrInvalid):
		return http.StatusUnprocessableEntity, validationBody{Detail: []validationItem{
			{Loc: []string{"body"}, Msg: err.Error(), Type: "value_error"}}}
	}
	return http.StatusInternalServerError, errorBody{Code: "internal_error", Detail: "Internal Server Error"}
}

// retryAfter is the Retry-After of a 503 for an unreachable database, in
// seconds: about what a server takes to restart or a pool to reconnect.
const retryAfter = "5"

// writeError answers with err's status and body. Only unexpected errors
// and the store's faults are logged: the others are the client's, and the
// client is told. Logged errors carry no request body, so no payload or
// secret.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(err)
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	switch {
	case errors.Is(err, inflight.ErrBusy):
		// The client is told to retry; a flood must not flood the log too.
	case errors.Is(err, hookline.ErrStorageFull) || errors.Is(err, hookline.ErrUnavailable):
		s.log.Error("store refused the request", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
	case status >= 500 && !errors.Is(err, errPanic): // panics are logged with their stack
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, body)
}

// errOverloaded is the answer to a request refused because the server
// holds as many request bytes as it may (inflight.ErrBusy): a 503 the
// client retries.
func errOverloaded(err error) error {
	if !errors.Is(err, inflight.ErrBusy) {
		return err
	}
	return &apiError{status: http.StatusServiceUnavailable, code: "overloaded",
		detail: "the server is handling as many request bytes as it may at once; retry shortly", retryAfter: 1, kind: err}
}

// notFound returns a 404 naming what was not found.
func notFound(what, id string) error {
	return &apiError{status: http.StatusNotFound, code: "not_found", detail: what + " " + quote(id) + " not found",
		kind: hookline.ErrNotFound}
}

// conflict returns a 409 with a detail.
func conflict(detail string) error {
	return &apiError{status: http.StatusConflict, code: "conflict", detail: detail, kind: hookline.ErrConflict}
}

// lookup turns a store's ErrNotFound into a 404 that names the resource
// the client addressed, and passes other errors through.
func lookup(err error, what, id string) error {
	if errors.Is(err, hookline.ErrNotFound) {
		return notFound(what, id)
	}
	return err
}

// opsErr gives an error of the operations below the API its status and
// code, keeping the operation's detail.
func opsErr(err error) error {
	var oe *ops.Error
	if !errors.As(err, &oe) {
		return err
	}
	switch {
	case errors.Is(oe, hookline.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: "not_found", detail: oe.Detail, kind: hookline.ErrNotFound}
	case errors.Is(oe, hookline.ErrConflict):
		return conflict(oe.Detail)
	case errors.Is(oe, ops.ErrDisabled):
		return &apiError{status: http.StatusConflict, code: "endpoint_disabled", detail: oe.Detail, kind: hookline.ErrConflict}
	case errors.Is(oe, ops.ErrLimitReached):
		return &apiError{status: http.StatusBadRequest, code: "limit_reached", detail: oe.Detail, kind: ops.ErrLimitReached}
	}
	return err
}
