package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.InboundStore = (*Store)(nil)

const sourceCols = `id, uid, name, token_hash, prev_token_hash, prev_token_expires, methods, max_body_bytes, verification,
	response, keep_rejected, handshakes, routes, created_at, updated_at`

// scanSource scans a source's columns, then any extra columns of the row
// into extra.
func scanSource(r interface{ Scan(...any) error }, extra ...any) (hookline.Source, error) {
	var (
		s                             hookline.Source
		uid, methods, verif, resp, rt sql.NullString
		prevExp                       sql.NullInt64
		c, u                          int64
	)
	err := r.Scan(append([]any{&s.ID, &uid, &s.Name, &s.TokenHash, &s.PrevTokenHash, &prevExp, &methods, &s.MaxBodyBytes, &verif,
		&resp, &s.KeepRejected, &s.Handshakes, &rt, &c, &u}, extra...)...)
	if err != nil {
		return s, err
	}
	s.UID, s.PrevTokenExpires = uid.String, fromMicroPtr(prevExp)
	s.CreatedAt, s.UpdatedAt = fromMicro(c), fromMicro(u)
	if verif.Valid {
		s.Verification = json.RawMessage(verif.String)
	}
	var errs [3]error
	s.Methods, errs[0] = sqlstore.ParseJSON[[]string](methods.String)
	s.Response, errs[1] = sqlstore.ParseJSON[hookline.SourceResponse](resp.String)
	s.Routes, errs[2] = sqlstore.ParseJSON[[]hookline.Route](rt.String)
	return s, errors.Join(errs[:]...)
}

func sourceArgs(s *hookline.Source) []any {
	var verif any
	if len(s.Verification) > 0 {
		verif = string(s.Verification)
	}
	resp, _ := json.Marshal(s.Response)
	routes := s.Routes
	if routes == nil {
		routes = []hookline.Route{}
	}
	rt, _ := json.Marshal(routes)
	return []any{s.ID, nullString(s.UID), s.Name, s.TokenHash, s.PrevTokenHash, microPtr(s.PrevTokenExpires), jsonText(s.Methods),
		s.MaxBodyBytes, verif, string(resp), s.KeepRejected, s.Handshakes, string(rt), micro(s.CreatedAt), micro(s.UpdatedAt)}
}

// SourceCreate stores a new source.
func (s *Store) SourceCreate(ctx context.Context, src *hookline.Source) error {
	_, err := s.exec(ctx, `INSERT INTO sources (`+sourceCols+`) VALUES (`+placeholders(15)+`)`, sourceArgs(src)...)
	if isUnique(err) {
		return fmt.Errorf("create source: a source with uid %q exists: %w", src.UID, hookline.ErrConflict)
	}
	return err
}

// SourceGet finds a source by ID or uid.
func (s *Store) SourceGet(ctx context.Context, idOrUID string) (*hookline.Source, error) {
	src, err := scanSource(s.r.QueryRowContext(ctx, `SELECT `+sourceCols+` FROM sources WHERE id = ?1 OR uid = ?1 LIMIT 1`, idOrUID))
	if err != nil {
		return nil, notFound(err, "source "+idOrUID)
	}
	return &src, nil
}

// SourceByToken finds a source by the hash of its current or previous
// token.
func (s *Store) SourceByToken(ctx context.Context, tokenHash []byte, now time.Time) (*hookline.Source, error) {
	src, err := scanSource(s.r.QueryRowContext(ctx, `SELECT `+sourceCols+` FROM sources
		WHERE token_hash = ?1 OR (prev_token_hash = ?1 AND prev_token_expires > ?2) LIMIT 1`, tokenHash, micro(now)))
	if err != nil {
		return nil, notFound(err, "source")
	}
	return &src, nil
}

// SourceList lists sources.
func (s *Store) SourceList(ctx context.Context, p store.Page) ([]hookline.Source, bool, error) {
	q := dialect.Query()
	srcs, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, sourceCols, "sources", "id", p, func(r *sql.Rows) (hookline.Source, error) { return scanSource(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list sources: %w", err)
	}
	return srcs, done, nil
}

// SourceUpdate stores every field of a source.
func (s *Store) SourceUpdate(ctx context.Context, src *hookline.Source) error {
	args := sourceArgs(src)
	res, err := s.exec(ctx, `UPDATE sources SET uid = ?, name = ?, token_hash = ?, prev_token_hash = ?, prev_token_expires = ?,
		methods = ?, max_body_bytes = ?, verification = ?, response = ?, keep_rejected = ?, handshakes = ?, routes = ?, updated_at = ?
		WHERE id = ?`, append(append(args[1:13:13], args[14]), src.ID)...)
	if isUnique(err) {
		return fmt.Errorf("update source: a source with uid %q exists: %w", src.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update source: %w", err)
	}
	return checkAffected(res, "source "+src.ID)
}

// SourceDelete deletes a source with its received requests and runs.
func (s *Store) SourceDelete(ctx context.Context, id string) error {
	return s.deleteOwner(ctx, "source", `DELETE FROM sources WHERE id = ?`, []any{id}, id, sourceDeletes, "source_id", "received")
}

// sourceDeletes delete a source's runs, found through its received
// requests: runs have no index by source.
var sourceDeletes = []string{`DELETE FROM runs WHERE received_id IN (SELECT id FROM received WHERE source_id = ?1)`}

const receivedCols = `id, source_id, method, path, query, headers, body, remote_addr, verified, verify_error, view, event_type, delivery_id, created_at`

func scanReceived(r interface{ Scan(...any) error }) (hookline.Received, error) {
	var (
		x              hookline.Received
		hdrs           string
		view, delivery sql.NullString
		c              int64
	)
	err := r.Scan(&x.ID, &x.SourceID, &x.Method, &x.Path, &x.Query, &hdrs, &x.Body, &x.RemoteAddr, &x.Verified, &x.VerifyError,
		&view, &x.EventType, &delivery, &c)
	if err != nil {
		return x, err
	}
	x.DeliveryID, x.CreatedAt = delivery.String, fromMicro(c)
	if view.Valid {
		x.View = json.RawMessage(view.String)
	}
	if x.Body == nil {
		x.Body = []byte{}
	}
	err = json.Unmarshal([]byte(hdrs), &x.Headers)
	return x, err
}

// receivedArgs are the values of receivedCols, in order. Only a verified
// request keeps its delivery ID, so that a forged request cannot take the
// ID of a genuine one.
func receivedArgs(x *hookline.Received) ([]any, error) {
	var view, delivery any
	if len(x.View) > 0 {
		view = string(x.View)
	}
	if x.Verified {
		delivery = nullString(x.DeliveryID)
	}
	hdrs, err := json.Marshal(x.Headers)
	if err != nil {
		return nil, err
	}
	body := x.Body
	if body == nil {
		body = []byte{}
	}
	return []any{x.ID, x.SourceID, x.Method, x.Path, x.Query, string(hdrs), body, x.RemoteAddr, x.Verified, x.VerifyError,
		view, x.EventType, delivery, micro(x.CreatedAt)}, nil
}

// ReceivedCreate stores a received request with what its routes make of
// it, or finds that it was received before.
func (s *Store) ReceivedCreate(ctx context.Context, rc *store.Receive) error {
	x := rc.Received
	err := s.durableTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Set afresh on each run: a shared transaction may run this twice.
		rc.Received, rc.Duplicate = x, false
		if x.DeliveryID != "" && x.Verified {
			first, err := scanReceived(tx.QueryRowContext(ctx, `SELECT `+receivedCols+` FROM received WHERE source_id = ? AND delivery_id = ?`, x.SourceID, x.DeliveryID))
			if err == nil {
				rc.Received, rc.Duplicate = &first, true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		args, err := receivedArgs(x)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO received (`+receivedCols+`) VALUES (`+placeholders(14)+`)`, args...); err != nil {
			return fmt.Errorf("insert received request: %w", err)
		}
		if len(rc.Messages) > 0 {
			if err := s.createMessages(ctx, tx, rc.Messages); err != nil {
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

func insertRuns(ctx context.Context, tx *sql.Tx, runs []*hookline.Run) error {
	for _, run := range runs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, received_id, source_id, route_id, command, status, attempts, next_attempt, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			run.ID, run.ReceivedID, run.SourceID, run.RouteID, run.Command, hookline.RunPending, micro(run.NextAttempt), micro(run.UpdatedAt)); err != nil {
			return fmt.Errorf("insert run: %w", err)
		}
	}
	return nil
}

// RunCreate queues command runs.
func (s *Store) RunCreate(ctx context.Context, runs []*hookline.Run) error {
	if err := s.tx(ctx, func(tx *sql.Tx) error { return insertRuns(ctx, tx, runs) }); err != nil {
		return fmt.Errorf("create runs: %w", err)
	}
	return nil
}

// ReceivedGet finds one received request of a source.
func (s *Store) ReceivedGet(ctx context.Context, sourceID, id string) (*hookline.Received, error) {
	x, err := scanReceived(s.r.QueryRowContext(ctx, `SELECT `+receivedCols+` FROM received WHERE source_id = ? AND id = ?`, sourceID, id))
	if err != nil {
		return nil, notFound(err, "received request "+id)
	}
	return &x, nil
}

// ReceivedList lists a source's received requests.
func (s *Store) ReceivedList(ctx context.Context, sourceID string, f store.ReceivedFilter) ([]hookline.Received, bool, error) {
	q := dialect.Query()
	q.ReceivedListConds(sourceID, f)
	q.Weigh(`octet_length(body) + coalesce(octet_length(view), 0) + octet_length(headers)`)
	out, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, receivedCols, "received", "id", f.Page, func(r *sql.Rows) (hookline.Received, error) { return scanReceived(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list received requests: %w", err)
	}
	return out, done, nil
}

const runCols = `id, received_id, source_id, route_id, command, status, attempts, next_attempt, exit_code, output, error, updated_at`

func scanRun(r interface{ Scan(...any) error }) (hookline.Run, error) {
	var (
		run  hookline.Run
		next sql.NullInt64
		u    int64
	)
	err := r.Scan(&run.ID, &run.ReceivedID, &run.SourceID, &run.RouteID, &run.Command, &run.Status, &run.Attempts, &next,
		&run.ExitCode, &run.Output, &run.Error, &u)
	if next.Valid {
		run.NextAttempt = fromMicro(next.Int64)
	}
	run.UpdatedAt = fromMicro(u)
	return run, err
}

// RunClaim leases due command runs.
func (s *Store) RunClaim(ctx context.Context, c store.RunClaim) ([]hookline.Run, error) {
	var runs []hookline.Run
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE runs SET status = ?, next_attempt = ?, updated_at = ?
			WHERE id IN (SELECT id FROM runs WHERE next_attempt <= ? ORDER BY next_attempt LIMIT ?)
			RETURNING `+runCols, hookline.RunRunning, micro(c.LeaseUntil), micro(c.Now), micro(c.Now), max(c.Limit, 1))
		runs, err = sqlstore.Collect(rows, err, func(r *sql.Rows) (hookline.Run, error) { return scanRun(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", err)
	}
	return runs, nil
}

// RunFinish stores a run's outcome.
func (s *Store) RunFinish(ctx context.Context, run *hookline.Run) error {
	res, err := s.exec(ctx, `UPDATE runs SET status = ?, attempts = ?, next_attempt = ?, exit_code = ?, output = ?, error = ?, updated_at = ? WHERE id = ?`,
		run.Status, run.Attempts, microPtr(&run.NextAttempt), run.ExitCode, run.Output, run.Error, micro(run.UpdatedAt), run.ID)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return checkAffected(res, "run "+run.ID)
}

// RunList lists the runs of a received request.
func (s *Store) RunList(ctx context.Context, receivedID string) ([]hookline.Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+runCols+` FROM runs WHERE received_id = ? ORDER BY id`, receivedID)
	runs, err := sqlstore.Collect(rows, err, func(r *sql.Rows) (hookline.Run, error) { return scanRun(r) })
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// SourceCursorGet returns a source's acknowledgement cursor.
func (s *Store) SourceCursorGet(ctx context.Context, sourceID string) (string, error) {
	var cur string
	err := s.r.QueryRowContext(ctx, `SELECT ack_cursor FROM sources WHERE id = ?`, sourceID).Scan(&cur)
	if err != nil {
		return "", notFound(err, "source "+sourceID)
	}
	return cur, nil
}

// cursorUpdate moves a source's cursor forward, never back.
const cursorUpdate = `UPDATE sources SET ack_cursor = CASE WHEN ack_cursor < ?2 THEN ?2 ELSE ack_cursor END WHERE id = ?1`

// SourceCursorPut moves a source's acknowledgement cursor forward to an
// ID; it never moves back.
func (s *Store) SourceCursorPut(ctx context.Context, sourceID, receivedID string) error {
	res, err := s.exec(ctx, cursorUpdate, sourceID, receivedID)
	if err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	return checkAffected(res, "source "+sourceID)
}
