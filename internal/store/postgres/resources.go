package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

const appCols = `id, uid, name, rate_limit, metadata, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanApp(r scanner) (hookline.App, error) {
	var (
		a    hookline.App
		uid  *string
		rate *int32
		meta []byte
	)
	if err := r.Scan(&a.ID, &uid, &a.Name, &rate, &meta, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return a, err
	}
	if uid != nil {
		a.UID = *uid
	}
	a.RateLimit = intPtr(rate)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	var err error
	a.Metadata, err = sqlstore.ParseJSON[map[string]string](meta)
	return a, err
}

func appArgs(a *hookline.App) []any {
	return []any{a.ID, nullString(a.UID), clean(a.Name), sqlstore.NullInt(a.RateLimit), jsonText(a.Metadata), a.CreatedAt.UTC(), a.UpdatedAt.UTC()}
}

// AppCreate stores a new app.
func (s *Store) AppCreate(ctx context.Context, a *hookline.App) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO apps (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`, appArgs(a)...)
	if isUnique(err) {
		return fmt.Errorf("create app: an app with uid %q exists: %w", a.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create app: %w", err)
	}
	return nil
}

// AppGet finds an app by ID or uid.
func (s *Store) AppGet(ctx context.Context, idOrUID string) (*hookline.App, error) {
	a, err := scanApp(s.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1 OR uid = $1 LIMIT 1`, idOrUID))
	if err != nil {
		return nil, notFound(err, "app "+idOrUID)
	}
	return &a, nil
}

// AppList lists apps.
func (s *Store) AppList(ctx context.Context, p store.Page) ([]hookline.App, bool, error) {
	q := dialect.Query()
	apps, done, err := sqlstore.List(ctx, s.pool.Query, &q, appCols, "apps", "id", p, func(r pgx.Rows) (hookline.App, error) { return scanApp(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list apps: %w", err)
	}
	return apps, done, nil
}

// AppUpdate stores the mutable fields of an app.
func (s *Store) AppUpdate(ctx context.Context, a *hookline.App) error {
	tag, err := s.pool.Exec(ctx, `UPDATE apps SET uid = $1, name = $2, rate_limit = $3, metadata = $4, updated_at = $5 WHERE id = $6`,
		nullString(a.UID), clean(a.Name), sqlstore.NullInt(a.RateLimit), jsonText(a.Metadata), a.UpdatedAt.UTC(), a.ID)
	if isUnique(err) {
		return fmt.Errorf("update app: an app with uid %q exists: %w", a.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update app: %w", err)
	}
	return checkAffected(tag, "app "+a.ID)
}

// AppDelete deletes an app and everything it owns. Rows go in the order
// DeliveryFinish locks them, deliveries before endpoints, so that the two
// do not deadlock.
func (s *Store) AppDelete(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM apps WHERE id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("delete app: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("app %s: %w", id, hookline.ErrNotFound)
		}
		for _, del := range []struct{ table, where string }{
			// Deliveries have no index by app: they go by their messages.
			{"deliveries", "msg_id IN (SELECT id FROM messages WHERE app_id = $1)"},
			{"attempts", "app_id = $1"},
			{"messages", "app_id = $1"},
			{"endpoints", "app_id = $1"},
			{"apps", "id = $1"},
		} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+del.table+` WHERE `+del.where, id); err != nil {
				return fmt.Errorf("delete app %s: %w", del.table, err)
			}
		}
		return nil
	})
}

const eventTypeCols = `name, description, archived, deprecated, feature_flag, schemas, created_at, updated_at`

func scanEventType(r scanner) (hookline.EventType, error) {
	var (
		e       hookline.EventType
		schemas *string
	)
	err := r.Scan(&e.Name, &e.Description, &e.Archived, &e.Deprecated, &e.FeatureFlag, &schemas, &e.CreatedAt, &e.UpdatedAt)
	if schemas != nil {
		e.Schemas = []byte(*schemas)
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, err
}

func schemasText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return clean(string(b))
}

func eventTypeArgs(e *hookline.EventType) []any {
	return []any{clean(e.Name), clean(e.Description), e.Archived, e.Deprecated, clean(e.FeatureFlag), schemasText(e.Schemas), e.CreatedAt.UTC(), e.UpdatedAt.UTC()}
}

// EventTypeCreate stores a new event type.
func (s *Store) EventTypeCreate(ctx context.Context, e *hookline.EventType) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO event_types (`+eventTypeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, eventTypeArgs(e)...)
	if isUnique(err) {
		return fmt.Errorf("create event type: %q exists: %w", e.Name, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create event type: %w", err)
	}
	return nil
}

// EventTypeGet finds an event type by name.
func (s *Store) EventTypeGet(ctx context.Context, name string) (*hookline.EventType, error) {
	e, err := scanEventType(s.pool.QueryRow(ctx, `SELECT `+eventTypeCols+` FROM event_types WHERE name = $1`, clean(name)))
	if err != nil {
		return nil, notFound(err, "event type "+name)
	}
	return &e, nil
}

// EventTypeList lists event types by name.
func (s *Store) EventTypeList(ctx context.Context, p store.Page, includeArchived bool) ([]hookline.EventType, bool, error) {
	q := dialect.Query()
	if !includeArchived {
		q.Add("NOT archived")
	}
	types, done, err := sqlstore.List(ctx, s.pool.Query, &q, eventTypeCols, "event_types", "name", p, func(r pgx.Rows) (hookline.EventType, error) { return scanEventType(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list event types: %w", err)
	}
	return types, done, nil
}

// EventTypeUpdate stores the mutable fields of an event type.
func (s *Store) EventTypeUpdate(ctx context.Context, e *hookline.EventType) error {
	tag, err := s.pool.Exec(ctx, `UPDATE event_types SET description = $1, archived = $2, deprecated = $3, feature_flag = $4, schemas = $5, updated_at = $6 WHERE name = $7`,
		clean(e.Description), e.Archived, e.Deprecated, clean(e.FeatureFlag), schemasText(e.Schemas), e.UpdatedAt.UTC(), clean(e.Name))
	if err != nil {
		return fmt.Errorf("update event type: %w", err)
	}
	return checkAffected(tag, "event type "+e.Name)
}

// EventTypeDelete deletes an event type for good.
func (s *Store) EventTypeDelete(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM event_types WHERE name = $1`, clean(name))
	if err != nil {
		return fmt.Errorf("delete event type: %w", err)
	}
	return checkAffected(tag, "event type "+name)
}

const endpointCols = `id, app_id, uid, url, description, version, disabled, disabled_reason, rate_limit, event_types,
	channels, metadata, headers, format, secrets, failing_since, created_at, updated_at`

// scanEndpoint scans an endpoint's columns, then any extra columns of the
// row into extra.
func scanEndpoint(r scanner, extra ...any) (hookline.Endpoint, error) {
	var (
		e                                 hookline.Endpoint
		uid                               *string
		types, chans, meta, hdrs, secrets []byte
		rate                              *int32
		format                            string
		failing                           *time.Time
	)
	err := r.Scan(append([]any{&e.ID, &e.AppID, &uid, &e.URL, &e.Description, &e.Version, &e.Disabled, &e.DisabledReason, &rate,
		&types, &chans, &meta, &hdrs, &format, &secrets, &failing, &e.CreatedAt, &e.UpdatedAt}, extra...)...)
	if err != nil {
		return e, err
	}
	if uid != nil {
		e.UID = *uid
	}
	e.RateLimit, e.Format, e.FailingSince = intPtr(rate), hookline.Format(format), utcPtr(failing)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	var errs [5]error
	e.EventTypes, errs[0] = sqlstore.ParseJSON[[]string](types)
	e.Channels, errs[1] = sqlstore.ParseJSON[[]string](chans)
	e.Metadata, errs[2] = sqlstore.ParseJSON[map[string]string](meta)
	e.Headers, errs[3] = sqlstore.ParseJSON[map[string]string](hdrs)
	e.Secrets, errs[4] = sqlstore.ParseSecrets(secrets)
	return e, errors.Join(errs[:]...)
}

func endpointArgs(e *hookline.Endpoint) []any {
	return []any{e.ID, e.AppID, nullString(e.UID), clean(e.URL), clean(e.Description), e.Version, e.Disabled, clean(e.DisabledReason),
		sqlstore.NullInt(e.RateLimit), jsonText(e.EventTypes), jsonText(e.Channels), jsonText(e.Metadata), jsonText(e.Headers),
		string(e.Format), sqlstore.SecretsText(e.Secrets), timePtr(e.FailingSince), e.CreatedAt.UTC(), e.UpdatedAt.UTC()}
}

const endpointInsert = `INSERT INTO endpoints (` + endpointCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

// EndpointCreate stores a new endpoint.
func (s *Store) EndpointCreate(ctx context.Context, e *hookline.Endpoint) error {
	_, err := s.pool.Exec(ctx, endpointInsert, endpointArgs(e)...)
	if isUnique(err) {
		return fmt.Errorf("create endpoint: an endpoint with uid %q exists: %w", e.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create endpoint: %w", err)
	}
	return nil
}

// EndpointGet finds an endpoint of an app by ID or uid.
func (s *Store) EndpointGet(ctx context.Context, appID, idOrUID string) (*hookline.Endpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE app_id = $1 AND (id = $2 OR uid = $2) LIMIT 1`, appID, idOrUID))
	if err != nil {
		return nil, notFound(err, "endpoint "+idOrUID)
	}
	return &e, nil
}

// EndpointList lists the endpoints of an app.
func (s *Store) EndpointList(ctx context.Context, appID string, p store.Page) ([]hookline.Endpoint, bool, error) {
	q := dialect.Query()
	q.Add("app_id = ?", appID)
	eps, done, err := sqlstore.List(ctx, s.pool.Query, &q, endpointCols, "endpoints", "id", p, func(r pgx.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list endpoints: %w", err)
	}
	return eps, done, nil
}

// EndpointTroubleList lists up to limit failing and up to limit disabled
// endpoints of every app, through endpoints_failing and endpoints_disabled.
func (s *Store) EndpointTroubleList(ctx context.Context, limit int) (failing, disabled []hookline.Endpoint, err error) {
	scan := func(r pgx.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) }
	rows, err := s.pool.Query(ctx, `SELECT `+endpointCols+` FROM endpoints
		WHERE failing_since IS NOT NULL AND NOT disabled ORDER BY failing_since LIMIT $1`, limit)
	if failing, err = sqlstore.Collect(rows, err, scan); err != nil {
		return nil, nil, fmt.Errorf("list failing endpoints: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE disabled ORDER BY id DESC LIMIT $1`, limit)
	if disabled, err = sqlstore.Collect(rows, err, scan); err != nil {
		return nil, nil, fmt.Errorf("list disabled endpoints: %w", err)
	}
	return failing, disabled, nil
}

// EndpointUpdate stores every field of an endpoint.
func (s *Store) EndpointUpdate(ctx context.Context, e *hookline.Endpoint) error {
	args := endpointArgs(e)
	// Every column but id, app_id and created_at, then the key.
	tag, err := s.pool.Exec(ctx, `UPDATE endpoints SET uid = $1, url = $2, description = $3, version = $4, disabled = $5,
		disabled_reason = $6, rate_limit = $7, event_types = $8, channels = $9, metadata = $10, headers = $11, format = $12,
		secrets = $13, failing_since = $14, updated_at = $15 WHERE id = $16 AND app_id = $17`,
		append(append(args[2:16:16], args[17]), e.ID, e.AppID)...)
	if isUnique(err) {
		return fmt.Errorf("update endpoint: an endpoint with uid %q exists: %w", e.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update endpoint: %w", err)
	}
	return checkAffected(tag, "endpoint "+e.ID)
}

// EndpointDelete deletes an endpoint with its pending deliveries; the
// attempts made stay in the log. Deliveries go first, in the lock order
// DeliveryFinish uses.
func (s *Store) EndpointDelete(ctx context.Context, appID, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE id = $1 AND app_id = $2`, id, appID).Scan(&n); err != nil {
			return fmt.Errorf("delete endpoint: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("endpoint %s: %w", id, hookline.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE endpoint_id = $1`, id); err != nil {
			return fmt.Errorf("delete endpoint: %w", err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM endpoints WHERE id = $1 AND app_id = $2`, id, appID)
		return err
	})
}

// IdempotencyBegin reserves an idempotency key. Two nodes that begin the
// same new key at once both try to insert it; the loser waits for the
// winner's row and then sees it in progress.
func (s *Store) IdempotencyBegin(ctx context.Context, key string, now time.Time) (*store.IdempotentResponse, error) {
	var out *store.IdempotentResponse
	key = clean(key)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = nil
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency (key, status, body, created_at) VALUES ($1, 0, NULL, $2) ON CONFLICT DO NOTHING`, key, now.UTC())
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var (
			status  int
			body    []byte
			created time.Time
		)
		if err := tx.QueryRow(ctx, `SELECT status, body, created_at FROM idempotency WHERE key = $1 FOR UPDATE`, key).Scan(&status, &body, &created); err != nil {
			return err
		}
		switch {
		case status != 0 && now.Sub(created) < sqlstore.IdempotencyTTL:
			if body == nil {
				body = []byte{}
			}
			out = &store.IdempotentResponse{Status: status, Body: body}
			return nil
		case status == 0 && now.Sub(created) < sqlstore.IdempotencyPending:
			return fmt.Errorf("idempotency key %q: a request with it is in progress: %w", key, hookline.ErrConflict)
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency SET status = 0, body = NULL, created_at = $2 WHERE key = $1`, key, now.UTC())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("begin idempotent request: %w", err)
	}
	return out, nil
}

// IdempotencyEnd saves the response for a reserved key, or releases it.
func (s *Store) IdempotencyEnd(ctx context.Context, key string, resp *store.IdempotentResponse) error {
	var err error
	key = clean(key)
	if resp == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM idempotency WHERE key = $1 AND status = 0`, key)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE idempotency SET status = $1, body = $2 WHERE key = $3`, resp.Status, resp.Body, key)
	}
	if err != nil {
		return fmt.Errorf("end idempotent request: %w", err)
	}
	return nil
}

// SettingGet returns a server setting.
func (s *Store) SettingGet(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, clean(key)).Scan(&v)
	if err != nil {
		return "", notFound(err, "setting "+key)
	}
	return v, nil
}

// SettingInit sets a server setting unless it is set, and returns the
// value it holds. The insert waits for a concurrent one of the same key to
// commit or roll back, and the select that follows, a statement of its
// own, sees the row that made the insert do nothing.
func (s *Store) SettingInit(ctx context.Context, key, value string) (string, error) {
	key = clean(key)
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, clean(value)); err != nil {
		return "", fmt.Errorf("init setting: %w", err)
	}
	var stored string
	if err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&stored); err != nil {
		return "", fmt.Errorf("init setting: %w", err)
	}
	return stored, nil
}

// SettingPut sets a server setting.
func (s *Store) SettingPut(ctx context.Context, key, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, clean(key), clean(value))
	if err != nil {
		return fmt.Errorf("put setting: %w", err)
	}
	return nil
}
