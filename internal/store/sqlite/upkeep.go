package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.Maintainer = (*Store)(nil)

// TryLead reports true: the file lock taken by Open makes this process the
// only one using the database, so it is always the leader.
func (s *Store) TryLead(ctx context.Context) (bool, error) { return true, nil }

// EndpointDisableFailing disables endpoints failing since before the cutoff.
func (s *Store) EndpointDisableFailing(ctx context.Context, failingBefore time.Time, reason string) ([]hookline.Endpoint, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE endpoints SET disabled = 1, disabled_reason = ?
		WHERE failing_since IS NOT NULL AND disabled = 0 AND failing_since < ? RETURNING id, app_id, uid, failing_since`,
		reason, micro(failingBefore))
	eps, err := sqlstore.Collect(rows, err, func(r *sql.Rows) (hookline.Endpoint, error) {
		e := hookline.Endpoint{Disabled: true, DisabledReason: reason}
		var (
			uid     sql.NullString
			failing sql.NullInt64
		)
		err := r.Scan(&e.ID, &e.AppID, &uid, &failing)
		e.UID, e.FailingSince = uid.String, fromMicroPtr(failing)
		return e, err
	})
	if err == nil {
		s.committed()
		err = s.wrote(s.wal.sync())
	}
	if err != nil {
		return nil, fmt.Errorf("disable failing endpoints: %w", err)
	}
	return eps, nil
}

// RetentionPrune empties old payloads and response bodies, limit of each.
func (s *Store) RetentionPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = max(limit, 1)
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The conditions repeat the partial indexes' own, so that SQLite
		// walks the index of rows still to prune.
		res, err := tx.ExecContext(ctx, `UPDATE messages SET payload = X'7B7D' WHERE id IN (
			SELECT m.id FROM messages m WHERE m.payload <> X'7B7D' AND m.created_at < ?
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.next_attempt IS NOT NULL)
			ORDER BY m.created_at LIMIT ?)`, micro(before), limit)
		if err != nil {
			return err
		}
		m, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `UPDATE attempts SET response = '', response_headers = NULL WHERE id IN (
			SELECT id FROM attempts WHERE (response <> '' OR response_headers IS NOT NULL) AND created_at < ?
			ORDER BY created_at LIMIT ?)`, micro(before), limit)
		if err != nil {
			return err
		}
		a, _ := res.RowsAffected()
		n = m + a
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune old payloads: %w", err)
	}
	return int(n), nil
}

// IdempotencyExpire deletes idempotency keys past their replay window.
func (s *Store) IdempotencyExpire(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM idempotency WHERE key IN (
		SELECT key FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)`, micro(now.Add(-sqlstore.IdempotencyTTL)), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
