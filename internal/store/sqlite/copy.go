package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.Copier = (*Store)(nil)

// dumpPage is how many rows Dump reads per query.
const dumpPage = 1000

// dumpTable pages through one table in key order, calling emit for each
// row; keyOf gives a row's key, where the next page starts after.
func dumpTable[T any](ctx context.Context, s *Store, cols, table, key string, scan func(*sql.Rows) (T, error), keyOf func(T) string, emit func(T) error) error {
	after := ""
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT `+cols+` FROM `+table+` WHERE `+key+` > ? ORDER BY `+key+` LIMIT ?`, after, dumpPage)
		items, err := sqlstore.Collect(rows, err, scan)
		if err != nil {
			return fmt.Errorf("dump %s: %w", table, err)
		}
		for _, it := range items {
			if err := emit(it); err != nil {
				return err
			}
		}
		if len(items) < dumpPage {
			return nil
		}
		after = keyOf(items[len(items)-1])
	}
}

// Dump calls fn with every record of the store.
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	if err := dumpTable(ctx, s, appCols, "apps", "id", func(r *sql.Rows) (hookline.App, error) { return scanApp(r) }, func(a hookline.App) string { return a.ID },
		func(a hookline.App) error { return fn(store.Record{App: &a}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, eventTypeCols, "event_types", "name", func(r *sql.Rows) (hookline.EventType, error) { return scanEventType(r) }, func(e hookline.EventType) string { return e.Name },
		func(e hookline.EventType) error { return fn(store.Record{EventType: &e}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, endpointCols, "endpoints", "id", func(r *sql.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) }, func(e hookline.Endpoint) string { return e.ID },
		func(e hookline.Endpoint) error { return fn(store.Record{Endpoint: &e}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, messageCols, "messages", "id", func(r *sql.Rows) (hookline.Message, error) { return scanMessage(r) }, func(m hookline.Message) string { return m.ID },
		func(m hookline.Message) error { return fn(store.Record{Message: &m}) }); err != nil {
		return err
	}
	scanDelivery := func(r *sql.Rows) (hookline.Delivery, error) {
		var (
			d    hookline.Delivery
			next sql.NullInt64
			c, u int64
		)
		err := r.Scan(deliveryDest(&d, &next, &c, &u)...)
		d.CreatedAt, d.UpdatedAt = fromMicro(c), fromMicro(u)
		if next.Valid {
			d.NextAttempt = fromMicro(next.Int64)
		}
		return d, err
	}
	if err := dumpTable(ctx, s, deliveryCols, "deliveries d", "d.id", scanDelivery, func(d hookline.Delivery) string { return d.ID },
		func(d hookline.Delivery) error { return fn(store.Record{Delivery: &d}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, attemptCols, "attempts a", "a.id", func(r *sql.Rows) (hookline.Attempt, error) { return scanAttempt(r) }, func(a hookline.Attempt) string { return a.ID },
		func(a hookline.Attempt) error { return fn(store.Record{Attempt: &a}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, "key, value", "settings", "key", func(r *sql.Rows) (store.Setting, error) {
		var st store.Setting
		return st, r.Scan(&st.Key, &st.Value)
	}, func(st store.Setting) string { return st.Key }, func(st store.Setting) error { return fn(store.Record{Setting: &st}) }); err != nil {
		return err
	}
	return s.dumpInbound(ctx, fn)
}

// sourceRow is a source with its acknowledgement cursor.
type sourceRow struct {
	src    hookline.Source
	cursor string
}

// dumpInbound calls fn with the records of the inbound half: sources, each
// followed by its cursor, received requests and runs.
func (s *Store) dumpInbound(ctx context.Context, fn func(store.Record) error) error {
	if err := dumpTable(ctx, s, sourceCols+", ack_cursor", "sources", "id", func(r *sql.Rows) (sourceRow, error) {
		var row sourceRow
		var err error
		row.src, err = scanSource(r, &row.cursor)
		return row, err
	}, func(row sourceRow) string { return row.src.ID }, func(row sourceRow) error {
		if err := fn(store.Record{Source: &row.src}); err != nil || row.cursor == "" {
			return err
		}
		return fn(store.Record{Cursor: &store.SourceCursor{SourceID: row.src.ID, ReceivedID: row.cursor}})
	}); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, receivedCols, "received", "id", func(r *sql.Rows) (hookline.Received, error) { return scanReceived(r) },
		func(x hookline.Received) string { return x.ID }, func(x hookline.Received) error { return fn(store.Record{Received: &x}) }); err != nil {
		return err
	}
	return dumpTable(ctx, s, runCols, "runs", "id", func(r *sql.Rows) (hookline.Run, error) { return scanRun(r) },
		func(run hookline.Run) string { return run.ID }, func(run hookline.Run) error { return fn(store.Record{Run: &run}) })
}

// Load stores records as they are, skipping those whose key exists.
func (s *Store) Load(ctx context.Context, recs []store.Record) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range recs {
			var err error
			switch {
			case r.App != nil:
				a := r.App
				_, err = tx.ExecContext(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					a.ID, nullString(a.UID), a.Name, sqlstore.NullInt(a.RateLimit), jsonText(a.Metadata), micro(a.CreatedAt), micro(a.UpdatedAt))
			case r.EventType != nil:
				e := r.EventType
				_, err = tx.ExecContext(ctx, `INSERT INTO event_types (`+eventTypeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					e.Name, e.Description, e.Archived, e.Deprecated, e.FeatureFlag, schemasText(e.Schemas), micro(e.CreatedAt), micro(e.UpdatedAt))
			case r.Endpoint != nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO endpoints (`+endpointCols+`) VALUES (`+placeholders(18)+`) ON CONFLICT DO NOTHING`, endpointArgs(r.Endpoint)...)
			case r.Message != nil:
				m := r.Message
				_, err = tx.ExecContext(ctx, `INSERT INTO messages (`+messageCols+`) VALUES (`+placeholders(9)+`) ON CONFLICT DO NOTHING`,
					m.ID, m.AppID, m.EventType, nullString(m.EventID), jsonText(m.Channels), []byte(m.Payload),
					nullString(m.ContentType), headersText(m.Headers), micro(m.CreatedAt))
			case r.Delivery != nil:
				d := r.Delivery
				_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					d.ID, d.AppID, d.MessageID, d.EndpointID, d.Status, d.Trigger, d.Attempts, microPtr(&d.NextAttempt), micro(d.CreatedAt), micro(d.UpdatedAt))
			case r.Attempt != nil:
				a := r.Attempt
				var hdrs any
				if a.ResponseHeaders != nil {
					b, jerr := json.Marshal(a.ResponseHeaders)
					if jerr != nil {
						return jerr
					}
					hdrs = string(b)
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO attempts (id, delivery_id, app_id, msg_id, endpoint_id, url, status, trigger_type,
					status_code, response_headers, response, duration_us, error, created_at) VALUES (`+placeholders(14)+`) ON CONFLICT DO NOTHING`,
					a.ID, a.DeliveryID, a.AppID, a.MessageID, a.EndpointID, a.URL, a.Status, a.Trigger,
					a.StatusCode, hdrs, a.Response, a.Duration.Microseconds(), a.Error, micro(a.CreatedAt))
			case r.Setting != nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, r.Setting.Key, r.Setting.Value)
			case r.Source != nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO sources (`+sourceCols+`) VALUES (`+placeholders(15)+`) ON CONFLICT DO NOTHING`, sourceArgs(r.Source)...)
			case r.Cursor != nil:
				_, err = tx.ExecContext(ctx, cursorUpdate, r.Cursor.SourceID, r.Cursor.ReceivedID)
			case r.Received != nil:
				args, aerr := receivedArgs(r.Received)
				if aerr != nil {
					return aerr
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO received (`+receivedCols+`) VALUES (`+placeholders(14)+`) ON CONFLICT DO NOTHING`, args...)
			case r.Run != nil:
				run := r.Run
				_, err = tx.ExecContext(ctx, `INSERT INTO runs (`+runCols+`) VALUES (`+placeholders(12)+`) ON CONFLICT DO NOTHING`,
					run.ID, run.ReceivedID, run.SourceID, run.RouteID, run.Command, run.Status, run.Attempts, microPtr(&run.NextAttempt),
					run.ExitCode, run.Output, run.Error, micro(run.UpdatedAt))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load records: %w", err)
	}
	return nil
}
