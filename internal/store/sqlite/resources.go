package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

const appCols = `id, uid, name, rate_limit, metadata, created_at, updated_at`

func scanApp(r interface{ Scan(...any) error }) (hookline.App, error) {
	var (
		a         hookline.App
		uid, meta sql.NullString
		rate      sql.NullInt64
		c, u      int64
	)
	if err := r.Scan(&a.ID, &uid, &a.Name, &rate, &meta, &c, &u); err != nil {
		return a, err
	}
	a.UID, a.RateLimit = uid.String, intPtr(rate)
	a.CreatedAt, a.UpdatedAt = fromMicro(c), fromMicro(u)
	var err error
	a.Metadata, err = sqlstore.ParseJSON[map[string]string](meta.String)
	return a, err
}

// AppCreate stores a new app.
func (s *Store) AppCreate(ctx context.Context, a *hookline.App) error {
	_, err := s.exec(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, nullString(a.UID), a.Name, sqlstore.NullInt(a.RateLimit), jsonText(a.Metadata), micro(a.CreatedAt), micro(a.UpdatedAt))
	if isUnique(err) {
		return fmt.Errorf("create app: an app with uid %q exists: %w", a.UID, hookline.ErrConflict)
	}
	return err
}

// AppGet finds an app by ID or uid.
func (s *Store) AppGet(ctx context.Context, idOrUID string) (*hookline.App, error) {
	st, err := s.readStmt(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?1 OR uid = ?1 LIMIT 1`)
	if err != nil {
		return nil, err
	}
	a, err := scanApp(st.QueryRowContext(ctx, idOrUID))
	if err != nil {
		return nil, notFound(err, "app "+idOrUID)
	}
	return &a, nil
}

// AppList lists apps.
func (s *Store) AppList(ctx context.Context, p store.Page) ([]hookline.App, bool, error) {
	q := dialect.Query()
	apps, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, appCols, "apps", "id", p, func(r *sql.Rows) (hookline.App, error) { return scanApp(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list apps: %w", err)
	}
	return apps, done, nil
}

// AppUpdate stores the mutable fields of an app.
func (s *Store) AppUpdate(ctx context.Context, a *hookline.App) error {
	res, err := s.exec(ctx, `UPDATE apps SET uid = ?, name = ?, rate_limit = ?, metadata = ?, updated_at = ? WHERE id = ?`,
		nullString(a.UID), a.Name, sqlstore.NullInt(a.RateLimit), jsonText(a.Metadata), micro(a.UpdatedAt), a.ID)
	if isUnique(err) {
		return fmt.Errorf("update app: an app with uid %q exists: %w", a.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update app: %w", err)
	}
	return checkAffected(res, "app "+a.ID)
}

// AppDelete deletes an app and everything it owns.
func (s *Store) AppDelete(ctx context.Context, id string) error {
	return s.deleteOwner(ctx, "app", `DELETE FROM apps WHERE id = ?`, []any{id}, id, appDeletes, "app_id", "endpoints", "messages")
}

// appDeletes delete an app's spans, attempts and deliveries, found through
// its messages: deliveries and attempts have no index by app, and a
// statement by their app_id would read every app's rows while every write
// waits. The spans of endpoints deleted before the app go too, as their
// attempts stayed until now.
var appDeletes = []string{
	`DELETE FROM endpoint_spans WHERE endpoint_id IN (SELECT id FROM endpoints WHERE app_id = ?1
		UNION SELECT a.endpoint_id FROM messages m JOIN attempts a ON a.msg_id = m.id WHERE m.app_id = ?1)`,
	`DELETE FROM attempts WHERE msg_id IN (SELECT id FROM messages WHERE app_id = ?1)`,
	`DELETE FROM deliveries WHERE msg_id IN (SELECT id FROM messages WHERE app_id = ?1)`,
}

// deleteOwner deletes one row (by the statement del with args) and, in the
// same transaction, what each statement of first, given id, deletes, and
// the rows of each owned table whose column col is id. It returns
// hookline.ErrNotFound, naming what, when there was no such row.
func (s *Store) deleteOwner(ctx context.Context, what, del string, args []any, id string, first []string, col string, owned ...string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if slices.ContainsFunc(first, func(q string) bool { return strings.Contains(q, "endpoint_spans") }) {
			// Spans are deleted: the last ones known may be gone.
			s.tops.forget()
		}
		for _, q := range first {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete %s: %w", what, err)
			}
		}
		res, err := tx.ExecContext(ctx, del, args...)
		if err != nil {
			return fmt.Errorf("delete %s: %w", what, err)
		}
		if err := checkAffected(res, what+" "+id); err != nil {
			return err
		}
		for _, table := range owned {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+col+` = ?`, id); err != nil {
				return fmt.Errorf("delete %s %s: %w", what, table, err)
			}
		}
		return nil
	})
}

const eventTypeCols = `name, description, archived, deprecated, feature_flag, schemas, created_at, updated_at`

func scanEventType(r interface{ Scan(...any) error }) (hookline.EventType, error) {
	var (
		e       hookline.EventType
		schemas sql.NullString
		c, u    int64
	)
	err := r.Scan(&e.Name, &e.Description, &e.Archived, &e.Deprecated, &e.FeatureFlag, &schemas, &c, &u)
	if schemas.Valid {
		e.Schemas = []byte(schemas.String)
	}
	e.CreatedAt, e.UpdatedAt = fromMicro(c), fromMicro(u)
	return e, err
}

func schemasText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// EventTypeCreate stores a new event type.
func (s *Store) EventTypeCreate(ctx context.Context, e *hookline.EventType) error {
	_, err := s.exec(ctx, `INSERT INTO event_types (`+eventTypeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Name, e.Description, e.Archived, e.Deprecated, e.FeatureFlag, schemasText(e.Schemas), micro(e.CreatedAt), micro(e.UpdatedAt))
	if isUnique(err) {
		return fmt.Errorf("create event type: %q exists: %w", e.Name, hookline.ErrConflict)
	}
	return err
}

// EventTypeGet finds an event type by name.
func (s *Store) EventTypeGet(ctx context.Context, name string) (*hookline.EventType, error) {
	e, err := scanEventType(s.r.QueryRowContext(ctx, `SELECT `+eventTypeCols+` FROM event_types WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, "event type "+name)
	}
	return &e, nil
}

// EventTypeList lists event types by name.
func (s *Store) EventTypeList(ctx context.Context, p store.Page, includeArchived bool) ([]hookline.EventType, bool, error) {
	q := dialect.Query()
	if !includeArchived {
		q.Add("archived = 0")
	}
	types, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, eventTypeCols, "event_types", "name", p, func(r *sql.Rows) (hookline.EventType, error) { return scanEventType(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list event types: %w", err)
	}
	return types, done, nil
}

// EventTypeUpdate stores the mutable fields of an event type.
func (s *Store) EventTypeUpdate(ctx context.Context, e *hookline.EventType) error {
	res, err := s.exec(ctx, `UPDATE event_types SET description = ?, archived = ?, deprecated = ?, feature_flag = ?, schemas = ?, updated_at = ? WHERE name = ?`,
		e.Description, e.Archived, e.Deprecated, e.FeatureFlag, schemasText(e.Schemas), micro(e.UpdatedAt), e.Name)
	if err != nil {
		return fmt.Errorf("update event type: %w", err)
	}
	return checkAffected(res, "event type "+e.Name)
}

// EventTypeDelete deletes an event type for good.
func (s *Store) EventTypeDelete(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM event_types WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete event type: %w", err)
	}
	return checkAffected(res, "event type "+name)
}

const endpointCols = `id, app_id, uid, url, description, version, disabled, disabled_reason, rate_limit, event_types,
	channels, metadata, headers, format, secrets, failing_since, created_at, updated_at`

// scanEndpoint scans an endpoint's columns, then any extra columns of the
// row into extra.
func scanEndpoint(r interface{ Scan(...any) error }, extra ...any) (hookline.Endpoint, error) {
	var (
		e                                      hookline.Endpoint
		uid, types, chans, meta, hdrs, secrets sql.NullString
		rate, failing                          sql.NullInt64
		format                                 string
		c, u                                   int64
	)
	err := r.Scan(append([]any{&e.ID, &e.AppID, &uid, &e.URL, &e.Description, &e.Version, &e.Disabled, &e.DisabledReason, &rate,
		&types, &chans, &meta, &hdrs, &format, &secrets, &failing, &c, &u}, extra...)...)
	if err != nil {
		return e, err
	}
	e.UID, e.RateLimit, e.Format, e.FailingSince = uid.String, intPtr(rate), hookline.Format(format), fromMicroPtr(failing)
	e.CreatedAt, e.UpdatedAt = fromMicro(c), fromMicro(u)
	var errs [5]error
	e.EventTypes, errs[0] = sqlstore.ParseJSON[[]string](types.String)
	e.Channels, errs[1] = sqlstore.ParseJSON[[]string](chans.String)
	e.Metadata, errs[2] = sqlstore.ParseJSON[map[string]string](meta.String)
	e.Headers, errs[3] = sqlstore.ParseJSON[map[string]string](hdrs.String)
	e.Secrets, errs[4] = sqlstore.ParseSecrets(secrets.String)
	return e, errors.Join(errs[:]...)
}

func endpointArgs(e *hookline.Endpoint) []any {
	return []any{e.ID, e.AppID, nullString(e.UID), e.URL, e.Description, e.Version, e.Disabled, e.DisabledReason,
		sqlstore.NullInt(e.RateLimit), jsonText(e.EventTypes), jsonText(e.Channels), jsonText(e.Metadata), jsonText(e.Headers),
		string(e.Format), sqlstore.SecretsText(e.Secrets), microPtr(e.FailingSince), micro(e.CreatedAt), micro(e.UpdatedAt)}
}

// EndpointCreate stores a new endpoint.
func (s *Store) EndpointCreate(ctx context.Context, e *hookline.Endpoint) error {
	_, err := s.exec(ctx, `INSERT INTO endpoints (`+endpointCols+`) VALUES (`+placeholders(18)+`)`, endpointArgs(e)...)
	if isUnique(err) {
		return fmt.Errorf("create endpoint: an endpoint with uid %q exists: %w", e.UID, hookline.ErrConflict)
	}
	return err
}

// EndpointGet finds an endpoint of an app by ID or uid.
func (s *Store) EndpointGet(ctx context.Context, appID, idOrUID string) (*hookline.Endpoint, error) {
	e, err := scanEndpoint(s.r.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE app_id = ?1 AND (id = ?2 OR uid = ?2) LIMIT 1`, appID, idOrUID))
	if err != nil {
		return nil, notFound(err, "endpoint "+idOrUID)
	}
	return &e, nil
}

// EndpointList lists the endpoints of an app.
func (s *Store) EndpointList(ctx context.Context, appID string, p store.Page) ([]hookline.Endpoint, bool, error) {
	q := dialect.Query()
	q.Add("app_id = ?", appID)
	eps, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, endpointCols, "endpoints", "id", p, func(r *sql.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list endpoints: %w", err)
	}
	return eps, done, nil
}

// EndpointTroubleList lists up to limit failing and up to limit disabled
// endpoints of every app, through endpoints_failing and endpoints_disabled.
func (s *Store) EndpointTroubleList(ctx context.Context, limit int) (failing, disabled []hookline.Endpoint, err error) {
	scan := func(r *sql.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) }
	rows, err := s.r.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoints INDEXED BY endpoints_failing
		WHERE failing_since IS NOT NULL AND disabled = 0 ORDER BY failing_since LIMIT ?`, limit)
	if failing, err = sqlstore.Collect(rows, err, scan); err != nil {
		return nil, nil, fmt.Errorf("list failing endpoints: %w", err)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT `+endpointCols+` FROM endpoints INDEXED BY endpoints_disabled
		WHERE disabled = 1 ORDER BY id DESC LIMIT ?`, limit)
	if disabled, err = sqlstore.Collect(rows, err, scan); err != nil {
		return nil, nil, fmt.Errorf("list disabled endpoints: %w", err)
	}
	return failing, disabled, nil
}

// EndpointUpdate stores every field of an endpoint.
func (s *Store) EndpointUpdate(ctx context.Context, e *hookline.Endpoint) error {
	args := endpointArgs(e)
	// Every column but id, app_id and created_at, then the key.
	res, err := s.exec(ctx, `UPDATE endpoints SET uid = ?, url = ?, description = ?, version = ?, disabled = ?,
		disabled_reason = ?, rate_limit = ?, event_types = ?, channels = ?, metadata = ?, headers = ?, format = ?,
		secrets = ?, failing_since = ?, updated_at = ? WHERE id = ? AND app_id = ?`,
		append(append(args[2:16:16], args[17]), e.ID, e.AppID)...)
	if isUnique(err) {
		return fmt.Errorf("update endpoint: an endpoint with uid %q exists: %w", e.UID, hookline.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update endpoint: %w", err)
	}
	return checkAffected(res, "endpoint "+e.ID)
}

// EndpointDelete deletes an endpoint with its pending deliveries; the
// attempts made stay in the log.
func (s *Store) EndpointDelete(ctx context.Context, appID, id string) error {
	return s.deleteOwner(ctx, "endpoint", `DELETE FROM endpoints WHERE id = ? AND app_id = ?`, []any{id, appID}, id,
		[]string{
			`DELETE FROM deliveries WHERE rowid IN (` + endpointDeliveryRows + `)`,
			`DELETE FROM endpoint_spans WHERE endpoint_id = ? AND kind = ` + strconv.Itoa(spanDeliveries),
		}, "")
}

// IdempotencyBegin reserves an idempotency key.
func (s *Store) IdempotencyBegin(ctx context.Context, key string, now time.Time) (*store.IdempotentResponse, error) {
	var out *store.IdempotentResponse
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			status  int
			body    []byte
			created int64
		)
		err := tx.QueryRowContext(ctx, `SELECT status, body, created_at FROM idempotency WHERE key = ?`, key).Scan(&status, &body, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case status != 0 && now.Sub(fromMicro(created)) < sqlstore.IdempotencyTTL:
			out = &store.IdempotentResponse{Status: status, Body: body}
			return nil
		case status == 0 && now.Sub(fromMicro(created)) < sqlstore.IdempotencyPending:
			return fmt.Errorf("idempotency key %q: a request with it is in progress: %w", key, hookline.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency (key, status, body, created_at) VALUES (?, 0, NULL, ?)
			ON CONFLICT (key) DO UPDATE SET status = 0, body = NULL, created_at = excluded.created_at`, key, micro(now))
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
	if resp == nil {
		_, err = s.exec(ctx, `DELETE FROM idempotency WHERE key = ? AND status = 0`, key)
	} else {
		_, err = s.exec(ctx, `UPDATE idempotency SET status = ?, body = ? WHERE key = ?`, resp.Status, resp.Body, key)
	}
	if err != nil {
		return fmt.Errorf("end idempotent request: %w", err)
	}
	return nil
}

// SettingGet returns a server setting.
func (s *Store) SettingGet(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err != nil {
		return "", notFound(err, "setting "+key)
	}
	return v, nil
}

// SettingInit sets a server setting unless it is set, and returns the
// value it holds.
func (s *Store) SettingInit(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("init setting: %w", err)
	}
	return stored, nil
}

// SettingPut sets a server setting.
func (s *Store) SettingPut(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("put setting: %w", err)
	}
	return nil
}
