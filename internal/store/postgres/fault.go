package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.Checker = (*Store)(nil)

// fault turns the errors that say the database cannot take work into the
// domain's kinds: a full disk (SQLSTATE 53100) into
// hookline.ErrStorageFull; a server that cannot be reached, that shuts
// down or restarts, that has no connection slot left, or that is a
// read-only standby (after a failover) into hookline.ErrUnavailable.
// Other errors pass unchanged.
func fault(err error) error {
	if err == nil {
		return nil
	}
	// A connection that cannot be made, for whatever reason (its timeout
	// included), is a server that cannot be reached.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return sqlstore.Fault(hookline.ErrUnavailable, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100": // disk_full
			return sqlstore.Fault(hookline.ErrStorageFull, err)
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now
			pe.Code == "53300", // too_many_connections
			pe.Code == "25006": // read_only_sql_transaction
			return sqlstore.Fault(hookline.ErrUnavailable, err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) {
		// SafeToRetry: the query was not sent, as on a closed connection.
		return sqlstore.Fault(hookline.ErrUnavailable, err)
	}
	return err
}

// pool is the connection pool with its errors turned into the domain's
// kinds by fault, so that every method of the store returns them without
// each having to ask. The writes it runs are recorded for WriteFault.
type pool struct {
	*pgxpool.Pool
	writes *sqlstore.Writes
}

// Exec runs a statement, as pgxpool.Pool.Exec does.
func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.Pool.Exec(ctx, sql, args...)
	return tag, p.writes.Record(fault(err))
}

// Query runs a query, as pgxpool.Pool.Query does.
func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := p.Pool.Query(ctx, sql, args...)
	if err != nil {
		return rows, fault(err)
	}
	return faultRows{rows}, nil
}

// QueryRow runs a query for one row, as pgxpool.Pool.QueryRow does.
func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return faultRow{p.Pool.QueryRow(ctx, sql, args...)}
}

type faultRow struct{ pgx.Row }

func (r faultRow) Scan(dest ...any) error { return fault(r.Row.Scan(dest...)) }

type faultRows struct{ pgx.Rows }

func (r faultRows) Err() error { return fault(r.Rows.Err()) }

// Ping asks the server for nothing on a connection of its own, so that a
// pool busy with requests does not make the server look unreachable. The
// connection is made on first use and again after it fails.
func (s *Store) Ping(ctx context.Context) error {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.pingConn == nil {
		conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return fmt.Errorf("ping postgres: %w", fault(err))
		}
		s.pingConn = conn
	}
	if err := s.pingConn.Ping(ctx); err != nil {
		s.closePing()
		return fmt.Errorf("ping postgres: %w", fault(err))
	}
	return nil
}

// closePing closes the ping's connection; the caller holds pingMu.
func (s *Store) closePing() {
	if s.pingConn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.pingConn.Close(ctx)
	s.pingConn = nil
}

// WriteFault returns the last write refused for want of space, unless a
// write has succeeded since.
func (s *Store) WriteFault() (time.Time, error) { return s.pool.writes.Fault() }
