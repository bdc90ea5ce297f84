package hookline

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. Callers test for them with errors.Is; one adapter (the REST
// API) maps each kind to an HTTP status and a JSON body.
var (
	// ErrNotFound means the addressed resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request collides with an existing resource,
	// such as a duplicate uid or event type name.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input failed validation. Errors of this kind are
	// usually *ValidationError values, which say which fields were wrong.
	ErrInvalid = errors.New("invalid input")
	// ErrStorageFull means the store refused a write for want of space,
	// such as a full disk: nothing of the write was kept, and the same
	// write may succeed once space is freed.
	ErrStorageFull = errors.New("storage full")
	// ErrUnavailable means the store could not be reached or does not take
	// work now, such as a database server that is down or restarting: the
	// operation may succeed if tried again later.
	ErrUnavailable = errors.New("store unavailable")
	// ErrForbidden means the caller's access does not allow the operation:
	// another app, a capability it lacks, or a read-only token writing.
	// Such errors are usually *ForbiddenError values, which say why.
	ErrForbidden = errors.New("forbidden")
)

// FieldError describes one invalid field.
type FieldError struct {
	// Loc is the path of the field, such as ["body", "url"].
	Loc []string
	// Msg says what is wrong and, where possible, what would be right.
	Msg string
	// Type is a short machine-readable kind, such as "value_error".
	Type string
}

// ValidationError collects the field errors found by a Validate method.
// It matches ErrInvalid under errors.Is.
type ValidationError struct {
	Fields []FieldError
}

// Error joins the field messages into one line.
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, fmt.Sprintf("%s: %s", strings.Join(f.Loc, "."), f.Msg))
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is reports that a ValidationError is of kind ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// add records one invalid field of the request body.
func (e *ValidationError) add(field, msg string) {
	e.Fields = append(e.Fields, FieldError{Loc: []string{"body", field}, Msg: msg, Type: "value_error"})
}

// err returns e if it holds any field errors, else nil.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid returns a ValidationError for one field.
func Invalid(loc []string, msg string) error {
	return &ValidationError{Fields: []FieldError{{Loc: loc, Msg: msg, Type: "value_error"}}}
}
