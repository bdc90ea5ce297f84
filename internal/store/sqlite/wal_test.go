package sqlite

import (
	"context"
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
