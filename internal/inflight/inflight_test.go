package inflight_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/inflight"
)

func TestAcquire(t *testing.T) {
	t.Parallel()
	l := inflight.New(100, 10*time.Millisecond)
	ctx := context.Background()

	r1, err := l.Acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Acquire(ctx, 40)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx, 1); !errors.Is(err, inflight.ErrBusy) {
		t.Fatalf("a byte over the bound: err = %v, want ErrBusy", err)
	}
	if got := l.Refused(); got != 1 {
		t.Errorf("Refused = %d, want 1", got)
	}
	r1()
	r1() // a second release gives nothing back twice
	r3, err := l.Acquire(ctx, 60)
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := l.Acquire(ctx, 1); !errors.Is(err, inflight.ErrBusy) {
		t.Fatalf("a double release freed room twice: err = %v", err)
	}
	r2()
	r3()

	// A request larger than the bound takes all of it and runs alone.
	big, err := l.Acquire(ctx, 1<<40)
	if err != nil {
		t.Fatalf("a request over the whole bound: %v", err)
	}
	if _, err := l.Acquire(ctx, 1); !errors.Is(err, inflight.ErrBusy) {
		t.Fatalf("beside the largest request: err = %v, want ErrBusy", err)
	}
	big()
}

func TestAcquireWaitsForRoom(t *testing.T) {
	t.Parallel()
	l := inflight.New(100, time.Minute)
	release, err := l.Acquire(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := l.Acquire(context.Background(), 50)
		if err == nil {
			r()
		}
		got <- err
	}()
	release()
	if err := <-got; err != nil {
		t.Fatalf("waiting for room: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	hold, _ := l.Acquire(context.Background(), 100)
	defer hold()
	cancel()
	if _, err := l.Acquire(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("with the request gone: err = %v, want context.Canceled", err)
	}
}

func TestNilLimiter(t *testing.T) {
	t.Parallel()
	var l *inflight.Limiter
	release, err := l.Acquire(context.Background(), 1<<50)
	if err != nil {
		t.Fatal(err)
	}
	release()
}
