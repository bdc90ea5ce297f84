package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// walSync makes commits durable by an fsync of the write-ahead log that
// runs after the writer connection is released, instead of within the
// commit (synchronous=FULL), so that the one writer goes on with the next
// transaction while the disk works.
//
// This is as safe as a flushing commit: a commit in WAL mode has written
// all its frames to the log file by the time it returns, and a later fsync
// of that file, through any descriptor, puts them on disk. A frame the log
// no longer holds was copied to the database file by a checkpoint, which
// flushes the database file before the log is reused.
//
// Callers that come while a flush runs share the next one, and a caller
// whose commits the last flush already covered does not flush again.
type walSync struct {
	path string
	// commits counts the commits that have returned (see committed).
	commits atomic.Uint64

	mu  sync.Mutex
	f   *os.File
	ino uint64
	// flushed is how many commits the last flush covered.
	flushed uint64
}

// committed counts a commit that has returned: its frames are in the log.
func (w *walSync) committed() { w.commits.Add(1) }

// sync flushes the write-ahead log to disk, unless a flush that began
// after the caller's last commit has already done so.
func (w *walSync) sync() error {
	want := w.commits.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.flushed >= want && want > 0 {
		return nil
	}
	covers := w.commits.Load()
	if err := w.flush(); err != nil {
		return err
	}
	w.flushed = covers
	return nil
}

// flush flushes the write-ahead log to disk. The log's data and size are
// what a commit needs; fdatasync leaves out the file's times, which
// SQLite does not read, and so saves the disk a write of the file's inode
// on every flush.
func (w *walSync) flush() error {
	fi, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		// SQLite removes the log only once it has checkpointed it into
		// the database file and flushed that.
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	ino := inode(fi)
	if w.f == nil || ino != w.ino {
		if w.f != nil {
			w.f.Close()
		}
		if w.f, err = os.Open(w.path); err != nil {
			w.f = nil
			return fmt.Errorf("sync write-ahead log: %w", err)
		}
		w.ino = ino
	}
	if err := ignoringEINTR(func() error { return syscall.Fdatasync(int(w.f.Fd())) }); err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	return nil
}

// ignoringEINTR runs fn again while a signal interrupts it, as the os
// package does for its own system calls.
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if err != syscall.EINTR {
			return err
		}
	}
}

func (w *walSync) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// checkpointInterval is the least time between two background checkpoints.
// Checkpointing more often copies the pages that every commit touches (the
// ends of the tables and indexes) into the database file more often, for
// nothing: at 20 ms the harness measured up to a third less throughput.
const checkpointInterval = 250 * time.Millisecond

// writerAutoCheckpoint is the size of the log, in pages, at which the
// writer checkpoints within its own commit: only when the background
// checkpoints fall behind, as they cannot empty a log that commits keep
// appending to.
const writerAutoCheckpoint = 4000

// checkpointer copies the write-ahead log into the database file on a
// connection of its own, while the writer goes on committing: a passive
// checkpoint takes no lock that the writer waits for. It runs after
// commits, at most every checkpointInterval.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the log has grown.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// Failures (SQLITE_BUSY while the writer checkpoints itself) are
		// left to the next round; the writer's own checkpoint bounds the
		// log meanwhile.
		_, _ = c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		pause.Reset(checkpointInterval)
		select {
		case <-c.stop:
			return
		case <-pause.C:
		}
	}
}

func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
