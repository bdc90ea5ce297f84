// Package sqlite is the store.Store on an embedded SQLite database: the
// zero-setup default, one file in WAL mode, used by one hookline process.
//
// Writes go through a single connection, as SQLite allows one writer at a
// time; reads use a pool of their own so that they never wait for a write.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on SQLite.
type Store struct {
	w    *sql.DB // the one writer
	r    *sql.DB // readers
	lock *os.File
	// path is the database file's.
	path string

	// wal flushes the write-ahead log for Flush and durableTx; ckpt
	// checkpoints it in the background.
	wal  walSync
	ckpt *checkpointer
	// comb runs the writer's hot transactions, several callers' at once.
	comb *combiner

	// Prepared statements of the hot paths, by SQL text, for the writer
	// and the readers: SQLite compiles a statement afresh on every
	// unprepared call, which costs more than the small statements of
	// publishing and delivering do.
	wstmts, rstmts stmtCache

	// tops spares span writes their lookups (see spans.go).
	tops spanTops
	// apps spares publishes the reading of their endpoints.
	apps appCache

	// writes keeps the last write refused for want of space (see fault.go).
	writes sqlstore.Writes
	// ping is the health check's one reader, apart from the readers' pool
	// so that a burst of reads does not hold it up.
	ping *sql.DB
}

// stmtCache holds statements prepared on one *sql.DB, which prepares them
// again on each connection that runs them.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// get returns the statement for query, preparing it on first use.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// writerSQL are the statements of the hot write paths, prepared on the
// writer when the store opens. They cannot be prepared later, on first
// use: that happens inside a transaction, which holds the writer's only
// connection.
var writerSQL = []string{
	insertMessages.one, insertMessages.many, insertDeliveries.one, insertDeliveries.many, messageByEventIDSQL, appRateLimitSQL, appEndpointsSQL,
	claimSQL, messagesByIDSQL, endpointsByIDSQL,
	finishDeliveries.one, finishDeliveries.many, insertAttempts.one, insertAttempts.many, endpointHealthySQL, endpointFailingSQL, endpointDisableSQL,
	spanLastSQL, spanHolderSQL, insertSpans.one, insertSpans.many, publishVersionSQL,
}

func (s *Store) prepareWriter(ctx context.Context) error {
	for _, q := range writerSQL {
		if _, err := s.wstmts.get(ctx, s.w, q); err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
	}
	return nil
}

// txStmt returns the writer's prepared statement for query bound to tx, or
// prepares query on tx if it is not one of writerSQL.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.wstmts.mu.Lock()
	st, ok := s.wstmts.m[query]
	s.wstmts.mu.Unlock()
	if !ok {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// readStmt returns the readers' prepared statement for query.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return s.rstmts.get(ctx, s.r, query)
}

// idList encodes IDs as a JSON array, the one parameter of
// "IN (SELECT value FROM json_each(?))": a list of any length then fits one
// prepared statement.
func idList(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, err := json.Marshal(ids)
	if err != nil {
		panic(fmt.Sprintf("encode id list: %v", err)) // strings always encode
	}
	return string(b)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, takes an
// exclusive lock on it so that no second process uses it at the same time,
// applies pending migrations, and returns deliveries that were claimed by a
// process that has since died to pending.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open sqlite %s: another hookline process is using this database (SQLite serves one process; use PostgreSQL for several nodes): %w", path, err)
	}
	s := &Store{lock: lock, path: path, wal: walSync{path: path + "-wal"}}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(OFF)"
	// The writer's commits are not flushed (synchronous=NORMAL); each
	// write that must be durable before it returns flushes the log after
	// its commit instead (see walSync), which is as safe and lets several
	// commits share a flush.
	s.w, err = sql.Open("sqlite", base+strings.Replace(pragmas, "synchronous(FULL)", "synchronous(NORMAL)", 1)+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=temp_store(MEMORY)&_txlock=immediate", writerAutoCheckpoint))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	var highMsg, highAttempt string
	if err := s.w.QueryRowContext(ctx, `SELECT coalesce((SELECT max(msg_id) FROM deliveries), ''), coalesce((SELECT max(id) FROM attempts), '')`).Scan(&highMsg, &highAttempt); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.tops.init(highMsg, highAttempt)
	if err := s.prepareWriter(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.comb = startCombiner(s)
	s.r, err = sql.Open("sqlite", base+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	s.r.SetConnMaxIdleTime(0)
	s.ping, err = sql.Open("sqlite", base+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.ping.SetMaxOpenConns(1)
	s.ping.SetMaxIdleConns(1)
	s.ping.SetConnMaxIdleTime(0)
	ck, err := sql.Open("sqlite", base+pragmas)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	ck.SetConnMaxIdleTime(0)
	s.ckpt = startCheckpointer(ck)
	// The lock above guarantees no other process holds claims, so every
	// delivery still marked sending was claimed by a process that died.
	if _, err := s.exec(ctx, releaseClaimsSQL, hookline.StatusPending, micro(time.Now()), hookline.StatusSending); err != nil {
		s.Close()
		return nil, fmt.Errorf("release stale claims: %w", err)
	}
	return s, nil
}

// releaseClaimsSQL makes the deliveries claimed by a process that died due
// now, rather than when their leases lapse. Only those whose lease has not
// lapsed need it, and they are among the deliveries due later, which the
// index of due deliveries finds without reading the rest: a full scan of
// deliveries would make start-up grow with every delivery ever made.
const releaseClaimsSQL = `UPDATE deliveries SET status = ?1, next_attempt = ?2 WHERE rowid IN (
	SELECT d.rowid FROM endpoints e CROSS JOIN deliveries d INDEXED BY deliveries_endpoint_due
	WHERE d.endpoint_id = e.id AND d.next_attempt > ?2 AND d.status = ?3)`

// Close closes the database and releases the file lock.
func (s *Store) Close() error {
	var errs []error
	if s.comb != nil {
		s.comb.close()
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	s.wal.close()
	s.rstmts.close()
	s.wstmts.close()
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.ping != nil {
		errs = append(errs, s.ping.Close())
	}
	if s.w != nil {
		if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, s.w.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migrate: bad migration name %s", name)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, micro(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

// tx runs fn in a write transaction and returns once its commit is on
// disk.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrote(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		s.tops.settle(tx, false)
		s.apps.forget()
		return s.wrote(err)
	}
	err = tx.Commit()
	s.tops.settle(tx, err == nil)
	if err != nil {
		s.apps.forget()
		return s.wrote(err)
	}
	s.committed()
	return s.wrote(s.wal.sync())
}

// durableTx runs fn in a write transaction and returns once its commit is
// on disk, as tx does, but shares the transaction with other writes (see
// combiner): for the writes that answer a sender, such as a received
// webhook.
func (s *Store) durableTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := s.lazyTx(ctx, fn); err != nil {
		return err
	}
	return s.wrote(s.wal.sync())
}

// committed counts a commit for the flushes (see walSync) and tells the
// background checkpointer that the log has grown.
func (s *Store) committed() {
	s.wal.committed()
	if s.ckpt != nil {
		s.ckpt.committed()
	}
}

// lazyTx runs fn in a write transaction whose commit is not flushed to disk
// but only written to the operating system. It is for the
// dispatcher's bookkeeping (claims, results), which a process crash cannot
// lose, and which a power loss can only cost as a delivery made again: the
// next flushed commit, such as the next publish, makes it durable too, as
// the WAL is written in order. Skipping the flush keeps the one writer
// free for the publishes that must wait for it. Callers that come while
// the writer is busy share the next transaction (see combiner); fn may
// then run twice, so it must set what it returns afresh each time.
//
// ctx bounds the wait for the transaction to begin; fn gets a context that
// is never canceled, for the statements of these short, hot transactions:
// a cancelable context would cost each statement a goroutine that watches
// it (in database/sql and in the driver) for nothing.
func (s *Store) lazyTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.wrote(s.comb.do(ctx, fn))
}

// micro converts a time to the stored form, Unix microseconds.
func micro(t time.Time) int64 { return t.UnixMicro() }

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func microPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicroPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func intPtr(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	n := int(v.Int64)
	return &n
}

// jsonText encodes v for a JSON column; nil slices are stored as NULL.
func jsonText(v any) any {
	switch x := v.(type) {
	case []string:
		if x == nil {
			return nil
		}
	case map[string]string:
		if x == nil {
			return "{}"
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode json column: %v", err)) // only maps and slices of strings reach here
	}
	return string(b)
}

// isUnique reports whether err is a violated UNIQUE constraint.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, hookline.ErrNotFound)
	}
	return err
}

func checkAffected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, hookline.ErrNotFound)
	}
	return nil
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// dialect is SQLite's part of the paged list queries.
var dialect = sqlstore.Dialect{
	Time: func(t time.Time) any { return micro(t) },
	In: func(col string, values []string) (string, []any) {
		args := make([]any, len(values))
		for i, v := range values {
			args[i] = v
		}
		return col + " IN (" + placeholders(len(args)) + ")", args
	},
	Contains: func(col, s string) (string, []any) {
		return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE value = ?)", []any{s}
	},
}
