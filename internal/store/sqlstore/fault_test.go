package sqlstore

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hookline/hookline"
)

func TestFault(t *testing.T) {
	t.Parallel()
	driver := errors.New("database or disk is full (13)")
	err := Fault(hookline.ErrStorageFull, fmt.Errorf("insert: %w", driver))
	if err.Error() != "insert: database or disk is full (13)" {
		t.Errorf("text = %q, want the driver's, unchanged", err)
	}
	if !errors.Is(err, hookline.ErrStorageFull) || !errors.Is(err, driver) || errors.Is(err, hookline.ErrUnavailable) {
		t.Errorf("Fault(ErrStorageFull, err) matches the wrong kinds")
	}
	if again := Fault(hookline.ErrStorageFull, err); again != err {
		t.Errorf("Fault of an error of the kind already wraps it again")
	}
	if Fault(hookline.ErrStorageFull, nil) != nil {
		t.Errorf("Fault(kind, nil) != nil")
	}
}

func TestWrites(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := &Writes{Now: func() time.Time { return now }}
	full := Fault(hookline.ErrStorageFull, errors.New("disk full"))
	for _, step := range []struct {
		name   string
		err    error
		wantAt time.Time
	}{
		{"success", nil, time.Time{}},
		{"other error", hookline.ErrNotFound, time.Time{}},
		{"refused", full, now},
		{"not found after a refusal", hookline.ErrNotFound, now},
		{"success after a refusal", nil, time.Time{}},
	} {
		if got := w.Record(step.err); got != step.err {
			t.Errorf("%s: Record returned %v, want its argument", step.name, got)
		}
		at, err := w.Fault()
		if !at.Equal(step.wantAt) || (err != nil) != !step.wantAt.IsZero() {
			t.Errorf("%s: Fault() = %v, %v; want a refusal at %v", step.name, at, err, step.wantAt)
		}
	}
}
