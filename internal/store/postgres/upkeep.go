package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

// EndpointDisableFailing disables endpoints failing since before the cutoff.
func (s *Store) EndpointDisableFailing(ctx context.Context, failingBefore time.Time, reason string) ([]hookline.Endpoint, error) {
	reason = clean(reason)
	rows, err := s.pool.Query(ctx, `UPDATE endpoints SET disabled = true, disabled_reason = $1
		WHERE failing_since IS NOT NULL AND NOT disabled AND failing_since < $2 RETURNING id, app_id, uid, failing_since`,
		reason, failingBefore.UTC())
	eps, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Endpoint, error) {
		e := hookline.Endpoint{Disabled: true, DisabledReason: reason}
		var uid *string
		err := r.Scan(&e.ID, &e.AppID, &uid, &e.FailingSince)
		if uid != nil {
			e.UID = *uid
		}
		e.FailingSince = utcPtr(e.FailingSince)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("disable failing endpoints: %w", err)
	}
	return eps, nil
}

// RetentionPrune empties old payloads and response bodies, limit of each.
// SKIP LOCKED passes over rows another transaction holds, such as a
// message being resent: the next pass takes them.
func (s *Store) RetentionPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = max(limit, 1)
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		tag, err := tx.Exec(ctx, `UPDATE messages SET payload = '\x7b7d'::bytea WHERE id IN (
			SELECT m.id FROM messages m WHERE m.payload <> '\x7b7d'::bytea AND m.created_at < $1
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = m.id AND d.next_attempt IS NOT NULL)
			ORDER BY m.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before.UTC(), limit)
		if err != nil {
			return err
		}
		n += tag.RowsAffected()
		tag, err = tx.Exec(ctx, `UPDATE attempts SET response = '', response_headers = NULL WHERE id IN (
			SELECT id FROM attempts WHERE (response <> '' OR response_headers IS NOT NULL) AND created_at < $1
			ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before.UTC(), limit)
		n += tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune old payloads: %w", err)
	}
	return int(n), nil
}

// IdempotencyExpire deletes idempotency keys past their replay window.
func (s *Store) IdempotencyExpire(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE key IN (
		SELECT key FROM idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		now.Add(-sqlstore.IdempotencyTTL).UTC(), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// NodeBeat records a heartbeat and counts the live worker nodes.
func (s *Store) NodeBeat(ctx context.Context, n store.Node, now time.Time, ttl time.Duration) (int, error) {
	var workers int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO nodes (id, worker, started_at, seen_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (id) DO UPDATE SET worker = excluded.worker, seen_at = excluded.seen_at`, clean(n.ID), n.Worker, now.UTC())
		b.Queue(`DELETE FROM nodes WHERE seen_at < $1`, now.Add(-ttl).UTC())
		b.Queue(`SELECT count(*) FROM nodes WHERE worker`).QueryRow(func(r pgx.Row) error { return r.Scan(&workers) })
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, fmt.Errorf("node heartbeat: %w", err)
	}
	return workers, nil
}

// leaderAppName begins the application_name of the session that holds the
// leader lock; the node's ID follows.
const leaderAppName = "hookline leader "

// NodeList lists the live nodes, the one holding the leader lock marked:
// its lock's session is named after it (Options.NodeID).
func (s *Store) NodeList(ctx context.Context) ([]store.NodeInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.worker, n.started_at, n.seen_at,
			EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
				WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
				AND a.application_name = $1 || n.id)
		FROM nodes n ORDER BY n.id`, leaderAppName)
	nodes, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (store.NodeInfo, error) {
		var n store.NodeInfo
		err := r.Scan(&n.ID, &n.Worker, &n.StartedAt, &n.SeenAt, &n.Leader)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return nodes, nil
}

// NodeLeave forgets a node.
func (s *Store) NodeLeave(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM nodes WHERE id = $1`, clean(id)); err != nil {
		return fmt.Errorf("leave cluster: %w", err)
	}
	return nil
}
