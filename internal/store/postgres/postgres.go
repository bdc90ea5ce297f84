// Package postgres is the store.Store on PostgreSQL, for running several
// hookline processes (nodes) on one database: they share the queue, claim
// due deliveries with FOR UPDATE SKIP LOCKED under a lease, wake each other
// with LISTEN/NOTIFY, and elect one of them for the upkeep with an advisory
// lock.
//
// The store keeps the same data, with the same meaning, as the SQLite one;
// the conformance suite in storetest holds both to it.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// notifyChannel is the LISTEN/NOTIFY channel that announces new due work.
// Notifications are database-wide, so each carries the schema it is about
// and listeners on other schemas ignore it.
const notifyChannel = "hookline_work"

// Options tune a Store.
type Options struct {
	// Logger receives the listener's reconnects. Default: discard.
	Logger *slog.Logger
	// NodeID names this process in the cluster. The session that holds
	// the upkeep leader's lock carries it in its application_name, so that
	// any node can tell which one leads (see NodeList).
	NodeID string
}

// Store is a store.Store on PostgreSQL. It is safe for concurrent use, by
// any number of processes on the same database.
type Store struct {
	pool   *pool
	schema string
	log    *slog.Logger
	nodeID string

	// leader is the connection that holds the leader lock, or that tries
	// for it; the lock lasts as long as its session.
	leaderMu sync.Mutex
	leader   *pgx.Conn
	leading  bool

	// pingConn is the health check's connection (see Ping).
	pingMu   sync.Mutex
	pingConn *pgx.Conn

	// apps keeps what publishes read of their apps (see MessageCreate).
	apps appCache
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Notifier   = (*Store)(nil)
	_ store.Maintainer = (*Store)(nil)
	_ store.Cluster    = (*Store)(nil)
	_ store.Copier     = (*Store)(nil)

	_ store.ConcurrentCreator = (*Store)(nil)
)

// IsURL reports whether dsn names a PostgreSQL database rather than a
// SQLite file: a postgres:// or postgresql:// URL.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database at dsn, a postgres:// URL, and applies
// pending migrations. Several processes may open the same database at once:
// an advisory lock lets one migrate while the others wait.
//
// Any parameter of the URL that is not a connection setting is set on each
// session, so search_path=name puts hookline's tables in that schema (it
// must exist). pool_max_conns sizes the connection pool; its default here
// is 4 per CPU, at least 8.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w (want postgres://user:password@host:5432/database?sslmode=disable)", redact(err, dsn))
	}
	if u, err := url.Parse(dsn); err == nil && !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	// Dead connections are found by the pool's health check and replaced.
	cfg.HealthCheckPeriod = 15 * time.Second
	s := &Store{log: opts.Logger, nodeID: opts.NodeID}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	pp, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", redact(err, dsn))
	}
	s.pool = &pool{Pool: pp, writes: &sqlstore.Writes{}}
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w (is the server up, and do the user, password and database exist?)", hostOf(dsn), err)
	}
	if schema == nil {
		s.pool.Close()
		return nil, fmt.Errorf("open postgres %s: no schema of search_path %q exists; create it (CREATE SCHEMA name) or fix search_path in the URL", hostOf(dsn), cfg.ConnConfig.RuntimeParams["search_path"])
	}
	s.schema = *schema
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// redact removes the password of dsn from an error's text.
func redact(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// hostOf names the server of dsn for messages, without credentials.
func hostOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "database"
	}
	return u.Host + u.Path
}

// Close releases the leader lock, if held, and closes every connection.
func (s *Store) Close() error {
	s.leaderMu.Lock()
	if s.leader != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// Unlocking first hands the role over at once; the session's end
		// would release the lock too, but only once the server has noticed.
		if s.leading {
			s.leader.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
		}
		s.leader.Close(ctx)
		cancel()
		s.leader, s.leading = nil, false
	}
	s.leaderMu.Unlock()
	s.pingMu.Lock()
	s.closePing()
	s.pingMu.Unlock()
	s.pool.Close()
	return nil
}

// Writers returns how many publish batches to commit at once: a quarter
// of the connection pool, at least two. Each holds a connection for its
// two round trips; the rest serve the dispatcher and the API's reads.
func (s *Store) Writers() int { return max(2, int(s.pool.Config().MaxConns)/4) }

// Schema returns the schema the store's tables are in.
func (s *Store) Schema() string { return s.schema }

// migrate applies the embedded migrations not yet applied, in order, in one
// transaction under an advisory lock held for that transaction: nodes
// starting together take turns, and each finds the work done by the first.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hookline migrate ' || current_schema()))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		done := map[int]bool{}
		for _, v := range applied {
			done[v] = true
		}
		for _, name := range names {
			version, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
			if err != nil {
				return fmt.Errorf("bad migration name %s", name)
			}
			if done[version] {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate postgres schema %s: %w", s.schema, err)
	}
	return nil
}

// tx runs fn in a transaction, again (up to 3 times in all) when
// PostgreSQL aborts it for a deadlock or a serialization failure, which
// concurrent nodes can cause and which leave nothing behind.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for try := 0; try < 3; try++ {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return s.pool.writes.Record(fault(err))
		}
	}
	return fault(err)
}

// pipeline sends the statements that fill builds as one batch and reads
// their results: one round trip, and, with no BEGIN among them, one
// transaction, which PostgreSQL commits at the batch's end and rolls back
// whole when one statement fails (the extended protocol's implicit
// transaction up to its Sync). It runs again, as tx does, after a deadlock
// or a serialization failure.
func (s *Store) pipeline(ctx context.Context, fill func(b *pgx.Batch)) error {
	var err error
	for try := 0; try < 3; try++ {
		b := &pgx.Batch{}
		fill(b)
		err = s.pool.Pool.SendBatch(ctx, b).Close()
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return s.pool.writes.Record(fault(err))
		}
	}
	return fault(err)
}

// notify announces new due work to every node listening on this schema. In
// a transaction, PostgreSQL sends it at commit, and not at all on rollback.
func notify(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}) error {
	_, err := q.Exec(ctx, `SELECT pg_notify('`+notifyChannel+`', current_schema())`)
	return err
}

// Listen calls wake whenever any node commits new due work on this schema.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.listenOnce(ctx, wake, &backoff)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("listen for new work", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, wake func(), backoff *time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return err
	}
	*backoff = 100 * time.Millisecond
	// Work committed while no connection listened was announced to no one.
	wake()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == s.schema {
			wake()
		}
	}
}

// TryLead takes or keeps the leader lock: a session-level advisory lock
// held by a connection of its own. The lock is the database's to keep: it
// goes when the session ends, so a node that dies, or whose connection
// drops, loses it at once to the next node that asks.
func (s *Store) TryLead(ctx context.Context) (bool, error) {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leader != nil {
		if err := s.leader.Ping(ctx); err != nil {
			s.dropLeader()
			return false, fmt.Errorf("check leader lock: %w", err)
		}
		if s.leading {
			return true, nil
		}
	} else {
		cfg := s.pool.Config().ConnConfig.Copy()
		if s.nodeID != "" {
			cfg.RuntimeParams["application_name"] = leaderAppName + s.nodeID
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return false, fmt.Errorf("connect for leader lock: %w", err)
		}
		s.leader = conn
	}
	err := s.leader.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('hookline leader ' || current_schema()))`).Scan(&s.leading)
	if err != nil {
		s.dropLeader()
		return false, fmt.Errorf("try leader lock: %w", err)
	}
	return s.leading, nil
}

func (s *Store) dropLeader() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.leader.Close(ctx)
	s.leader, s.leading = nil, false
}

// isUnique reports whether err is a violated unique constraint.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, hookline.ErrNotFound)
	}
	return err
}

func checkAffected(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, hookline.ErrNotFound)
	}
	return nil
}

// clean makes s storable in a text or jsonb column, which can hold neither
// NUL nor bytes that are not UTF-8: a response body, a command's output or
// a received request's header may contain them, and SQLite keeps them, but
// PostgreSQL refuses the whole write.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return clean(s)
}

func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	n := int(*p)
	return &n
}

// timePtr returns nil for a zero time, for a NULL column.
func timePtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// jsonText encodes v for a jsonb column; a nil slice is NULL. The result
// is a string, which pgx passes to jsonb as JSON text.
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
	case map[string][]string:
		if x == nil {
			return nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode json column: %v", err)) // only maps and slices of strings reach here
	}
	// jsonb refuses \u0000 even escaped.
	return strings.ReplaceAll(string(b), `\u0000`, `\ufffd`)
}

// dialect is PostgreSQL's part of the paged list queries.
var dialect = sqlstore.Dialect{
	Numbered: true,
	PinOwner: true,
	Time:     func(t time.Time) any { return t.UTC() },
	In: func(col string, values []string) (string, []any) {
		return col + " = ANY(?)", []any{values}
	},
	Contains: func(col, s string) (string, []any) {
		return col + " @> jsonb_build_array(?::text)", []any{clean(s)}
	},
}
