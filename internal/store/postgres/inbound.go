package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.InboundStore = (*Store)(nil)

const sourceCols = `id, uid, name, token_hash, prev_token_hash, prev_token_expires, methods, max_body_bytes, verification, response, keep_rejected, handshakes, routes, created_at, updated_at`

// scanSource scans a source's columns, then any extra columns of the row
// into extra.
func scanSource(r scanner, extra ...any) (hookline.Source, error) {
	var (
		s                     hookline.Source
		uid, verif            *string
		prevExp               *time.Time
		methods, resp, routes []byte
	)
	err := r.Scan(append([]any{&s.ID, &uid, &s.Name, &s.TokenHash, &s.PrevTokenHash, &prevExp, &methods, &s.MaxBodyBytes, &verif,
		&resp, &s.KeepRejected, &s.Handshakes, &routes, &s.CreatedAt, &s.UpdatedAt}, extra...)...)
	if err != nil {
		return s, err
	}
	if uid != nil {
		s.UID = *uid
	}
	if verif != nil {
		s.Verification = json.RawMessage(*verif)
	}
	s.PrevTokenExpires = utcPtr(prevExp)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	var errs [3]error
	s.Methods, errs[0] = sqlstore.ParseJSON[[]string](methods)
	s.Response, errs[1] = sqlstore.ParseJSON[hookline.SourceResponse](resp)
	s.Routes, errs[2] = sqlstore.ParseJSON[[]hookline.Route](routes)
	for _, err := range errs {
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// sourceArgs are the values of sourceCols, in order.
func sourceArgs(s *hookline.Source) []any {
	var verif any
	if len(s.Verification) > 0 {
		verif = clean(string(s.Verification))
	}
	routes := s.Routes
	if routes == nil {
		routes = []hookline.Route{}
	}
	return []any{s.ID, nullString(s.UID), clean(s.Name), s.TokenHash, s.PrevTokenHash, utcPtr(s.PrevTokenExpires), jsonText(s.Methods),
		s.MaxBodyBytes, verif, jsonText(s.Response), s.KeepRejected, s.Handshakes, jsonText(routes), s.CreatedAt.UTC(), s.UpdatedAt.UTC()}
}

const sourceInsert = `INSERT INTO sources (` + sourceCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

// SourceCreate stores a new source.
func (s *Store) SourceCreate(ctx context.Context, src *hookline.Source) error {
	_, err := s.pool.Exec(ctx, sourceInsert, sourceArgs(src)...)
	if isUnique(err) {
		return fmt.Errorf("create source: a source with uid %q exists: %w", src.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create source: %w", err)
	}
	return nil
}

// SourceGet finds a source by ID or uid.
func (s *Store) SourceGet(ctx context.Context, idOrUID string) (*hookline.Source, error) {
	src, err := scanSource(s.pool.QueryRow(ctx, `SELECT `+sourceCols+` FROM sources WHERE id = $1 OR uid = $1 LIMIT 1`, clean(idOrUID)))
	if err != nil {
		return nil, notFound(err, "source "+idOrUID)
	}
	return &src, nil
}

// SourceByToken finds a source by the hash of its current token, or of its
// previous one until that expires.
func (s *Store) SourceByToken(ctx context.Context, tokenHash []byte, now time.Time) (*hookline.Source, error) {
	src, err := scanSource(s.pool.QueryRow(ctx, `SELECT `+sourceCols+` FROM sources
		WHERE token_hash = $1 OR (prev_token_hash = $1 AND prev_token_expires > $2) LIMIT 1`, tokenHash, now.UTC()))
	if err != nil {
		return nil, notFound(err, "source")
	}
	return &src, nil
}

// SourceList lists sources.
func (s *Store) SourceList(ctx context.Context, p store.Page) ([]hookline.Source, bool, error) {
	q := dialect.Query()
	srcs, done, err := sqlstore.List(ctx, s.pool.Query, &q, sourceCols, "sources", "id", p, func(r pgx.Rows) (hookline.Source, error) { return scanSource(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list sources: %w", err)
	}
	return srcs, done, nil
}

// SourceUpdate stores every field of a source.
func (s *Store) SourceUpdate(ctx context.Context, src *hookline.Source) error {
	// Every column but created_at.
	args := sourceArgs(src)
	tag, err := s.pool.Exec(ctx, `UPDATE sources SET uid = $2, name = $3, token_hash = $4, prev_token_hash = $5, prev_token_expires = $6,
		methods = $7, max_body_bytes = $8, verification = $9, response = $10, keep_rejected = $11, handshakes = $12, routes = $13, updated_at = $14
		WHERE id = $1`, append(args[:13:13], args[14])...)
	if isUnique(err) {
		return fmt.Errorf("update source: a source with uid %q exists: %w", src.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update source: %w", err)
	}
	return checkAffected(tag, "source "+src.ID)
}

// SourceDelete deletes a source with its received requests and runs.
func (s *Store) SourceDelete(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sources WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete source: %w", err)
		}
		if err := checkAffected(tag, "source "+id); err != nil {
			return err
		}
		for _, table := range []string{"received", "runs"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE source_id = $1`, id); err != nil {
				return fmt.Errorf("delete source %s: %w", table, err)
			}
		}
		return nil
	})
}

const receivedCols = `id, source_id, method, path, query, headers, body, remote_addr, verified, verify_error, view, event_type, delivery_id, created_at`

func scanReceived(r scanner) (hookline.Received, error) {
	var (
		x              hookline.Received
		hdrs           []byte
		view, delivery *string
	)
	err := r.Scan(&x.ID, &x.SourceID, &x.Method, &x.Path, &x.Query, &hdrs, &x.Body, &x.RemoteAddr, &x.Verified, &x.VerifyError,
		&view, &x.EventType, &delivery, &x.CreatedAt)
	if err != nil {
		return x, err
	}
	if view != nil {
		x.View = json.RawMessage(*view)
	}
	if delivery != nil {
		x.DeliveryID = *delivery
	}
	if x.Body == nil {
		x.Body = []byte{}
	}
	x.CreatedAt = x.CreatedAt.UTC()
	x.Headers, err = sqlstore.ParseJSON[map[string][]string](hdrs)
	return x, err
}

// receivedArgs are the values of receivedCols, in order. Only a verified
// request keeps its delivery ID, so that a forged request cannot take the
// ID of a genuine one.
func receivedArgs(x *hookline.Received) []any {
	var view, delivery any
	if len(x.View) > 0 {
		view = clean(string(x.View))
	}
	if x.Verified {
		delivery = nullString(x.DeliveryID)
	}
	body := x.Body
	if body == nil {
		body = []byte{}
	}
	return []any{x.ID, x.SourceID, clean(x.Method), clean(x.Path), clean(x.Query), jsonText(cleanHeaders(x.Headers)), body,
		clean(x.RemoteAddr), x.Verified, clean(x.VerifyError), view, clean(x.EventType), delivery, x.CreatedAt.UTC()}
}

const receivedInsert = `INSERT INTO received (` + receivedCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// ReceivedCreate stores a received request with its routes' messages and
// runs in one transaction, or finds that the source received it before.
//
// The unique index on (source_id, delivery_id) decides which request is
// first: an insert that meets a committed row with the same delivery ID
// does nothing, and one that meets an uncommitted row waits for its
// transaction. So of two nodes receiving the same delivery at once, one
// stores it and the other reports a duplicate of it.
func (s *Store) ReceivedCreate(ctx context.Context, rc *store.Receive) error {
	x := rc.Received
	args := receivedArgs(x)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rc.Received, rc.Duplicate = x, false
		tag, err := tx.Exec(ctx, receivedInsert+` ON CONFLICT (source_id, delivery_id) WHERE delivery_id IS NOT NULL DO NOTHING`, args...)
		if err != nil {
			return fmt.Errorf("insert received request: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// A new statement sees the row the insert ran into, committed
			// before it or while it waited.
			first, err := scanReceived(tx.QueryRow(ctx, `SELECT `+receivedCols+` FROM received WHERE source_id = $1 AND delivery_id = $2`,
				x.SourceID, clean(x.DeliveryID)))
			if err != nil {
				return fmt.Errorf("find the request first received with delivery ID %s: %w", x.DeliveryID, err)
			}
			rc.Received, rc.Duplicate = &first, true
			return nil
		}
		if len(rc.Messages) > 0 {
			if err := createMessages(ctx, tx, rc.Messages, false, nil); err != nil {
				return err
			}
		}
		return insertRuns(ctx, tx, rc.Runs)
	})
	if err != nil {
		return fmt.Errorf("store received request: %w", err)
	}
	return nil
}

// insertRuns queues new runs, pending, in one statement.
func insertRuns(ctx context.Context, tx pgx.Tx, runs []*hookline.Run) error {
	if len(runs) == 0 {
		return nil
	}
	var (
		ids, received, sources, routes, commands []string
		next, updated                            []time.Time
	)
	for _, r := range runs {
		ids, received, sources = append(ids, r.ID), append(received, r.ReceivedID), append(sources, r.SourceID)
		routes, commands = append(routes, clean(r.RouteID)), append(commands, clean(r.Command))
		next, updated = append(next, r.NextAttempt.UTC()), append(updated, r.UpdatedAt.UTC())
	}
	_, err := tx.Exec(ctx, `INSERT INTO runs (id, received_id, source_id, route_id, command, status, attempts, next_attempt, updated_at)
		SELECT id, rcv, src, rt, cmd, $6, 0, na, up
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::timestamptz[], $8::timestamptz[]) AS u(id, rcv, src, rt, cmd, na, up)`,
		ids, received, sources, routes, commands, hookline.RunPending, next, updated)
	if err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	return nil
}

// RunCreate queues command runs.
func (s *Store) RunCreate(ctx context.Context, runs []*hookline.Run) error {
	if err := s.tx(ctx, func(tx pgx.Tx) error { return insertRuns(ctx, tx, runs) }); err != nil {
		return fmt.Errorf("create runs: %w", err)
	}
	return nil
}

// ReceivedGet finds one received request of a source.
func (s *Store) ReceivedGet(ctx context.Context, sourceID, id string) (*hookline.Received, error) {
	x, err := scanReceived(s.pool.QueryRow(ctx, `SELECT `+receivedCols+` FROM received WHERE source_id = $1 AND id = $2`, sourceID, id))
	if err != nil {
		return nil, notFound(err, "received request "+id)
	}
	return &x, nil
}

// ReceivedList lists a source's received requests.
func (s *Store) ReceivedList(ctx context.Context, sourceID string, f store.ReceivedFilter) ([]hookline.Received, bool, error) {
	q := dialect.Query()
	q.ReceivedListConds(sourceID, f)
	q.Weigh(`octet_length(body) + coalesce(octet_length(view), 0) + coalesce(pg_column_size(headers), 0)`)
	out, done, err := sqlstore.List(ctx, s.pool.Query, &q, receivedCols, "received", "id", f.Page, func(r pgx.Rows) (hookline.Received, error) { return scanReceived(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list received requests: %w", err)
	}
	return out, done, nil
}

const runCols = `id, received_id, source_id, route_id, command, status, attempts, next_attempt, exit_code, output, error, updated_at`

func scanRun(r scanner) (hookline.Run, error) {
	var (
		run  hookline.Run
		next *time.Time
	)
	err := r.Scan(&run.ID, &run.ReceivedID, &run.SourceID, &run.RouteID, &run.Command, &run.Status, &run.Attempts, &next,
		&run.ExitCode, &run.Output, &run.Error, &run.UpdatedAt)
	if next != nil {
		run.NextAttempt = next.UTC()
	}
	run.UpdatedAt = run.UpdatedAt.UTC()
	return run, err
}

// RunClaim leases due command runs. As DeliveryClaim does, it picks and
// marks them in one UPDATE, and SKIP LOCKED lets nodes claiming at once
// pass over each other's picks, so each due run goes to one node.
func (s *Store) RunClaim(ctx context.Context, c store.RunClaim) ([]hookline.Run, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM runs WHERE next_attempt <= $1
			ORDER BY next_attempt LIMIT $2
			FOR UPDATE SKIP LOCKED)
		UPDATE runs r SET status = $3, next_attempt = $4, updated_at = $1
		FROM due WHERE r.id = due.id
		RETURNING `+sqlstore.Prefixed("r.", runCols),
		c.Now.UTC(), max(c.Limit, 1), hookline.RunRunning, c.LeaseUntil.UTC())
	runs, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Run, error) { return scanRun(r) })
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", err)
	}
	slices.SortFunc(runs, func(a, b hookline.Run) int { return strings.Compare(a.ID, b.ID) })
	return runs, nil
}

// RunFinish stores a run's outcome.
func (s *Store) RunFinish(ctx context.Context, run *hookline.Run) error {
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET status = $1, attempts = $2, next_attempt = $3, exit_code = $4, output = $5, error = $6, updated_at = $7
		WHERE id = $8`,
		run.Status, run.Attempts, timePtr(&run.NextAttempt), run.ExitCode, clean(run.Output), clean(run.Error), run.UpdatedAt.UTC(), run.ID)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return checkAffected(tag, "run "+run.ID)
}

// RunList lists the runs of a received request.
func (s *Store) RunList(ctx context.Context, receivedID string) ([]hookline.Run, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+runCols+` FROM runs WHERE received_id = $1 ORDER BY id`, receivedID)
	runs, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Run, error) { return scanRun(r) })
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// SourceCursorGet returns a source's acknowledgement cursor.
func (s *Store) SourceCursorGet(ctx context.Context, sourceID string) (string, error) {
	var cur string
	err := s.pool.QueryRow(ctx, `SELECT ack_cursor FROM sources WHERE id = $1`, sourceID).Scan(&cur)
	if err != nil {
		return "", notFound(err, "source "+sourceID)
	}
	return cur, nil
}

// cursorUpdate moves a source's cursor forward, never back: acks from
// clients racing each other may arrive out of order.
const cursorUpdate = `UPDATE sources SET ack_cursor = GREATEST(ack_cursor, $2::text COLLATE "C") WHERE id = $1`

// SourceCursorPut moves a source's acknowledgement cursor forward to an
// ID; it never moves back.
func (s *Store) SourceCursorPut(ctx context.Context, sourceID, receivedID string) error {
	tag, err := s.pool.Exec(ctx, cursorUpdate, sourceID, clean(receivedID))
	if err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	return checkAffected(tag, "source "+sourceID)
}
