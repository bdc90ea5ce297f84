package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// openScratch opens a store with a table t(x) for the tests to write.
func openScratch(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.w.Exec(`CREATE TABLE t (x INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return s
}

// queuedWrites holds the writer busy while n writes queue behind it, then
// lets them run, and returns each one's error and the transactions they
// ran in. Write i inserts i into t and then fails when fail(i).
func queuedWrites(t *testing.T, s *Store, n int, fail func(int) bool) ([]error, map[*sql.Tx]int) {
	t.Helper()
	ctx := context.Background()
	busy, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.lazyTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			close(busy)
			<-release
			return nil
		})
	}()
	<-busy
	var mu sync.Mutex
	txs := map[*sql.Tx]int{}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			errs[i-1] = s.lazyTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
				mu.Lock()
				txs[tx]++
				mu.Unlock()
				if _, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (?)`, i); err != nil {
					return err
				}
				if fail(i) {
					return errFailing
				}
				return nil
			})
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	queued := s.comb.queued()
	for queued < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		queued = s.comb.queued()
	}
	close(release)
	wg.Wait()
	if queued < n {
		t.Fatalf("only %d of %d writes could wait for the writer at once", queued, n)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	return errs, txs
}

var errFailing = errors.New("this caller fails")

// rowsOf returns the values in t, in order.
func rowsOf(t *testing.T, s *Store) []int {
	t.Helper()
	rows, err := s.r.Query(`SELECT x FROM t ORDER BY x`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var x int
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestWritesShareATransaction checks that writes arriving while the writer
// is busy run in one transaction.
func TestWritesShareATransaction(t *testing.T) {
	s := openScratch(t)
	const n = 8
	errs, txs := queuedWrites(t, s, n, func(int) bool { return false })
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i+1, err)
		}
	}
	if len(txs) != 1 {
		t.Errorf("the %d queued writes ran in %d transactions, want 1", n, len(txs))
	}
	if got, want := rowsOf(t, s), []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestFailedWriteUndoesOnlyItsOwn checks that a write that fails in a
// shared transaction leaves no trace and gets its own error, while the
// others it shared the transaction with are committed.
func TestFailedWriteUndoesOnlyItsOwn(t *testing.T) {
	s := openScratch(t)
	const n = 8
	errs, _ := queuedWrites(t, s, n, func(i int) bool { return i%3 == 0 })
	var want []int
	for i := 1; i <= n; i++ {
		if i%3 == 0 {
			if !errors.Is(errs[i-1], errFailing) {
				t.Errorf("write %d: %v, want its own error", i, errs[i-1])
			}
			continue
		}
		if errs[i-1] != nil {
			t.Errorf("write %d: %v", i, errs[i-1])
		}
		want = append(want, i)
	}
	if got := rowsOf(t, s); !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v: the failed writes' rows rolled back, the others' committed", got, want)
	}
}

// TestAbandonedWriteNeverRuns checks that a write whose caller gave up
// while it waited for the writer is not run later.
func TestAbandonedWriteNeverRuns(t *testing.T) {
	s := openScratch(t)
	busy, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.lazyTx(context.Background(), func(context.Context, *sql.Tx) error {
			close(busy)
			<-release
			return nil
		})
	}()
	<-busy
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	done := make(chan error, 1)
	go func() {
		done <- s.lazyTx(ctx, func(context.Context, *sql.Tx) error {
			ran = true
			return nil
		})
	}()
	for s.comb.queued() < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("abandoned write: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// A later write passes through the same transaction loop: once it is
	// done, the abandoned one has been seen and skipped.
	if err := s.lazyTx(context.Background(), func(context.Context, *sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the write ran after its caller gave up")
	}
}

// writerIdle waits for the writer to be free: a rider that finds it still
// busy with the last transaction queues at once, as it should.
func writerIdle(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.comb.mu.Lock()
		running := s.comb.running
		s.comb.mu.Unlock()
		if !running {
			return
		}
	}
	t.Fatal("the writer stayed busy")
}

// TestRideJoinsTheNextTransaction checks that a riding write waits for
// the next transaction begun for another write and joins it, and that one
// with no other write comes once its wait has passed.
func TestRideJoinsTheNextTransaction(t *testing.T) {
	s := openScratch(t)
	ctx := context.Background()
	var mu sync.Mutex
	txs := map[*sql.Tx]int{}
	write := func(x int) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			mu.Lock()
			txs[tx]++
			mu.Unlock()
			_, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (?)`, x)
			return err
		}
	}
	rode := make(chan error, 1)
	go func() { rode <- s.comb.ride(ctx, write(1), time.Hour) }()
	deadline := time.Now().Add(10 * time.Second)
	for riders := 0; riders == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		s.comb.mu.Lock()
		riders = len(s.comb.riders)
		s.comb.mu.Unlock()
	}
	if err := s.lazyTx(ctx, write(2)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rode:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the riding write did not join the next transaction")
	}
	if len(txs) != 1 {
		t.Errorf("the two writes ran in %d transactions, want 1", len(txs))
	}

	writerIdle(t, s)
	start := time.Now()
	if err := s.comb.ride(ctx, write(3), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("a lone riding write came after %v, before its wait", waited)
	}
	if got := rowsOf(t, s); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("rows %v, want [1 2 3]", got)
	}
}

// TestRidersShareATimer checks the one timer that riders share: a rider
// with a shorter wait than those before it brings their transaction
// forward (it takes them along), and a rider that comes while the timer is
// armed for a rider a transaction has since taken still comes once its
// own wait has passed.
func TestRidersShareATimer(t *testing.T) {
	s := openScratch(t)
	ctx := context.Background()
	insert := func(x int) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (?)`, x)
			return err
		}
	}
	riders := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for got := -1; got != n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			s.comb.mu.Lock()
			got = len(s.comb.riders)
			s.comb.mu.Unlock()
		}
	}
	type came struct {
		after time.Duration
		err   error
	}
	ride := func(x int, wait time.Duration) <-chan came {
		out := make(chan came, 1)
		start := time.Now()
		go func() {
			err := s.comb.ride(ctx, insert(x), wait)
			out <- came{time.Since(start), err}
		}()
		return out
	}
	recv := func(c <-chan came, what string) came {
		t.Helper()
		select {
		case r := <-c:
			if r.err != nil {
				t.Fatal(r.err)
			}
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never came", what)
			return came{}
		}
	}

	long := ride(1, time.Hour)
	riders(1)
	short := ride(2, 20*time.Millisecond)
	a, b := recv(long, "the rider with an hour's wait"), recv(short, "the rider with 20ms")
	if b.after < 20*time.Millisecond || a.after > 5*time.Second {
		t.Errorf("the 20ms rider came after %v and the hour's rider after %v; want both at about 20ms", b.after, a.after)
	}

	writerIdle(t, s)
	taken := ride(3, 100*time.Millisecond)
	riders(1)
	if err := s.lazyTx(ctx, insert(4)); err != nil {
		t.Fatal(err)
	}
	recv(taken, "the rider a transaction took")
	writerIdle(t, s)
	late := ride(5, 300*time.Millisecond)
	if r := recv(late, "the rider that came while the timer was armed for a taken one"); r.after < 300*time.Millisecond {
		t.Errorf("it came after %v, before its 300ms", r.after)
	}
	if rows := rowsOf(t, s); !slices.Equal(rows, []int{1, 2, 3, 4, 5}) {
		t.Errorf("rows %v, want [1 2 3 4 5]", rows)
	}
}
