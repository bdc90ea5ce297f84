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

// dumpPage is how many rows Dump reads per query.
const dumpPage = 1000

// dumpTable pages through one table in key order, calling emit for each
// row; keyOf gives a row's key, where the next page starts after.
func dumpTable[T any](ctx context.Context, s *Store, cols, table, key string, scan func(pgx.Rows) (T, error), keyOf func(T) string, emit func(T) error) error {
	after := ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM `+table+` WHERE `+key+` > $1 ORDER BY `+key+` LIMIT $2`, after, dumpPage)
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
	if err := dumpTable(ctx, s, appCols, "apps", "id", func(r pgx.Rows) (hookline.App, error) { return scanApp(r) },
		func(a hookline.App) string { return a.ID }, func(a hookline.App) error { return fn(store.Record{App: &a}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, eventTypeCols, "event_types", "name", func(r pgx.Rows) (hookline.EventType, error) { return scanEventType(r) },
		func(e hookline.EventType) string { return e.Name }, func(e hookline.EventType) error { return fn(store.Record{EventType: &e}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, endpointCols, "endpoints", "id", func(r pgx.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) },
		func(e hookline.Endpoint) string { return e.ID }, func(e hookline.Endpoint) error { return fn(store.Record{Endpoint: &e}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, messageCols, "messages", "id", func(r pgx.Rows) (hookline.Message, error) { return scanMessage(r) },
		func(m hookline.Message) string { return m.ID }, func(m hookline.Message) error { return fn(store.Record{Message: &m}) }); err != nil {
		return err
	}
	scanDelivery := func(r pgx.Rows) (hookline.Delivery, error) {
		var (
			d    hookline.Delivery
			next *time.Time
		)
		err := r.Scan(deliveryDest(&d, &next)...)
		d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		if next != nil {
			d.NextAttempt = next.UTC()
		}
		return d, err
	}
	if err := dumpTable(ctx, s, deliveryCols, "deliveries d", "d.id", scanDelivery,
		func(d hookline.Delivery) string { return d.ID }, func(d hookline.Delivery) error { return fn(store.Record{Delivery: &d}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, attemptCols, "attempts a", "a.id", func(r pgx.Rows) (hookline.Attempt, error) { return scanAttempt(r) },
		func(a hookline.Attempt) string { return a.ID }, func(a hookline.Attempt) error { return fn(store.Record{Attempt: &a}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, s, "key, value", "settings", "key", func(r pgx.Rows) (store.Setting, error) {
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
	if err := dumpTable(ctx, s, sourceCols+", ack_cursor", "sources", "id", func(r pgx.Rows) (sourceRow, error) {
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
	if err := dumpTable(ctx, s, receivedCols, "received", "id", func(r pgx.Rows) (hookline.Received, error) { return scanReceived(r) },
		func(x hookline.Received) string { return x.ID }, func(x hookline.Received) error { return fn(store.Record{Received: &x}) }); err != nil {
		return err
	}
	return dumpTable(ctx, s, runCols, "runs", "id", func(r pgx.Rows) (hookline.Run, error) { return scanRun(r) },
		func(run hookline.Run) string { return run.ID }, func(run hookline.Run) error { return fn(store.Record{Run: &run}) })
}

// Load stores records as they are, skipping those whose key exists, in one
// transaction and one round trip.
func (s *Store) Load(ctx context.Context, recs []store.Record) error {
	b := &pgx.Batch{}
	var atts attemptRows
	for _, r := range recs {
		switch {
		case r.App != nil:
			b.Queue(`INSERT INTO apps (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, appArgs(r.App)...)
		case r.EventType != nil:
			b.Queue(`INSERT INTO event_types (`+eventTypeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, eventTypeArgs(r.EventType)...)
		case r.Endpoint != nil:
			b.Queue(endpointInsert+` ON CONFLICT DO NOTHING`, endpointArgs(r.Endpoint)...)
		case r.Message != nil:
			m := r.Message
			b.Queue(`INSERT INTO messages (`+messageCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
				m.ID, m.AppID, clean(m.EventType), nullString(m.EventID), jsonText(m.Channels), []byte(m.Payload),
				nullString(m.ContentType), jsonText(cleanHeaders(m.Headers)), m.CreatedAt.UTC())
		case r.Delivery != nil:
			d := r.Delivery
			b.Queue(`INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
				d.ID, d.AppID, d.MessageID, d.EndpointID, d.Status, d.Trigger, d.Attempts, timePtr(&d.NextAttempt), d.CreatedAt.UTC(), d.UpdatedAt.UTC())
		case r.Attempt != nil:
			if err := atts.add(r.Attempt); err != nil {
				return fmt.Errorf("load records: %w", err)
			}
		case r.Setting != nil:
			b.Queue(`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, clean(r.Setting.Key), clean(r.Setting.Value))
		case r.Source != nil:
			b.Queue(sourceInsert+` ON CONFLICT DO NOTHING`, sourceArgs(r.Source)...)
		case r.Cursor != nil:
			b.Queue(cursorUpdate, r.Cursor.SourceID, clean(r.Cursor.ReceivedID))
		case r.Received != nil:
			b.Queue(receivedInsert+` ON CONFLICT DO NOTHING`, receivedArgs(r.Received)...)
		case r.Run != nil:
			run := r.Run
			b.Queue(`INSERT INTO runs (`+runCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
				run.ID, run.ReceivedID, run.SourceID, clean(run.RouteID), clean(run.Command), run.Status, run.Attempts, timePtr(&run.NextAttempt),
				run.ExitCode, clean(run.Output), clean(run.Error), run.UpdatedAt.UTC())
		}
	}
	if len(atts.id) > 0 {
		atts.queue(b, true)
	}
	err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return fmt.Errorf("load records: %w", err)
	}
	return nil
}
