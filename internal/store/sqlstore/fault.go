package sqlstore

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
)

// Fault returns err as an instance of kind, hookline.ErrStorageFull or
// hookline.ErrUnavailable, keeping its text and what it wraps: an adapter
// turns its driver's errors into the domain's kinds with it.
func Fault(kind, err error) error {
	if err == nil || errors.Is(err, kind) {
		return err
	}
	return &faultError{kind: kind, err: err}
}

type faultError struct{ kind, err error }

func (e *faultError) Error() string { return e.err.Error() }

func (e *faultError) Unwrap() []error { return []error{e.err, e.kind} }

// Writes keeps the outcome of a store's recent writes, for a readiness
// check: the last write refused for want of space, unless a write has
// succeeded since. The zero Writes has seen no write. It is safe for
// concurrent use.
type Writes struct {
	// Now tells the time; nil means time.Now.
	Now func() time.Time

	// faulted spares a succeeding write the lock while no refusal is kept.
	faulted atomic.Bool
	mu      sync.Mutex
	failed  time.Time
	err     error
}

// Record notes the outcome of a write and returns err: nil clears a
// refusal, an error of kind hookline.ErrStorageFull is kept, and any other
// error (a missing row, a conflict) says nothing of the storage and is
// passed over.
func (w *Writes) Record(err error) error {
	switch {
	case err == nil:
		if w.faulted.Load() {
			w.mu.Lock()
			w.failed, w.err = time.Time{}, nil
			w.faulted.Store(false)
			w.mu.Unlock()
		}
	case errors.Is(err, hookline.ErrStorageFull):
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		w.mu.Lock()
		w.failed, w.err = now(), err
		w.faulted.Store(true)
		w.mu.Unlock()
	}
	return err
}

// Fault returns the last write refused for want of space and when it was
// refused, unless a write has succeeded since; a zero time and nil if none.
func (w *Writes) Fault() (time.Time, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed, w.err
}
