package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

func TestWALSyncFollowsTheLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db-wal")
	w := &walSync{path: path}
	defer w.close()
	if err := w.sync(); err != nil {
		t.Fatalf("sync without a log file = %v, want nil: a removed log was checkpointed", err)
	}
	if err := os.WriteFile(path, []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	first := w.ino
	if w.f == nil || first == 0 {
		t.Fatal("sync kept no descriptor of the log")
	}
	// A log removed and made afresh is a new file: sync must flush that
	// one, not the old descriptor.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	keep, err := os.Create(filepath.Join(filepath.Dir(path), "other")) // so the inode number is not reused at once
	if err != nil {
		t.Fatal(err)
	}
	keep.Close()
	if err := os.WriteFile(path, []byte("new frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.ino != inode(fi) || w.ino == first {
		t.Errorf("after the log was replaced sync holds inode %d, want the new file's %d", w.ino, inode(fi))
	}
}

func TestCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), Name: "a", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	if err := s.AppCreate(ctx, a); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	// Far below the writer's own checkpoint threshold: only the
	// background checkpointer copies these pages into the database file.
	for range 20 {
		var batch []*store.MessageCreate
		for range 20 {
			batch = append(batch, &store.MessageCreate{Message: &hookline.Message{
				ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "x", Payload: make([]byte, 1000), CreatedAt: now,
			}})
		}
		if err := s.MessageCreate(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before+200_000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file stayed at %d bytes (from %d): the log was not checkpointed", size(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDurableWritesFlush checks that each write that returns durable has
// had the log flushed after its commit, as the writer's own commits no
// longer flush it, and that the dispatcher's bookkeeping does not flush.
func TestDurableWritesFlush(t *testing.T) {
	s := openScratch(t)
	ctx := context.Background()
	covered := func() bool {
		s.wal.mu.Lock()
		defer s.wal.mu.Unlock()
		return s.wal.flushed >= s.wal.commits.Load()
	}
	insert := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (1)`)
		return err
	}
	if err := s.lazyTx(ctx, insert); err != nil {
		t.Fatal(err)
	}
	if covered() {
		t.Fatal("a lazy write flushed the log")
	}
	durable := map[string]func() error{
		"tx":        func() error { return s.tx(ctx, func(tx *sql.Tx) error { return insert(ctx, tx) }) },
		"exec":      func() error { _, err := s.exec(ctx, `INSERT INTO t (x) VALUES (2)`); return err },
		"durableTx": func() error { return s.durableTx(ctx, insert) },
		"flush":     func() error { return errors.Join(s.lazyTx(ctx, insert), s.Flush()) },
	}
	for name, write := range durable {
		if err := s.lazyTx(ctx, insert); err != nil {
			t.Fatal(err)
		}
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !covered() {
			t.Errorf("%s returned before the log was flushed", name)
		}
	}
	var n int
	if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&n); err != nil || n != 1 {
		t.Errorf("writer synchronous = %d (%v), want 1 (NORMAL): its commits are flushed by the store, not by SQLite", n, err)
	}
}
