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

// Dump calls fn with every record of the store.
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	return sqlstore.Dump(ctx, &dialect, s.pool.Query, &dumpTables, fn)
}

// dumpTables is how Dump reads each table.
var dumpTables = sqlstore.Tables[pgx.Rows]{
	AppCols: appCols, EventTypeCols: eventTypeCols, EndpointCols: endpointCols, MessageCols: messageCols,
	DeliveryCols: deliveryCols, AttemptCols: attemptCols, SourceCols: sourceCols, ReceivedCols: receivedCols, RunCols: runCols,
	App:       func(r pgx.Rows) (hookline.App, error) { return scanApp(r) },
	EventType: func(r pgx.Rows) (hookline.EventType, error) { return scanEventType(r) },
	Endpoint:  func(r pgx.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) },
	Message:   func(r pgx.Rows) (hookline.Message, error) { return scanMessage(r) },
	Delivery:  scanDumpedDelivery,
	Attempt:   func(r pgx.Rows) (hookline.Attempt, error) { return scanAttempt(r) },
	Source:    func(r pgx.Rows, cursor *string) (hookline.Source, error) { return scanSource(r, cursor) },
	Received:  func(r pgx.Rows) (hookline.Received, error) { return scanReceived(r) },
	Run:       func(r pgx.Rows) (hookline.Run, error) { return scanRun(r) },
	TokenCols: tokenCols,
	Token:     func(r pgx.Rows) (hookline.Token, error) { return scanToken(r) },
}

// scanDumpedDelivery scans a delivery as Dump copies it: with its stored
// next_attempt whatever its status.
func scanDumpedDelivery(r pgx.Rows) (hookline.Delivery, error) {
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
			b.Queue(`INSERT INTO messages (`+messageCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
				m.ID, m.AppID, clean(m.EventType), nullString(m.EventID), jsonText(m.Channels), []byte(m.Payload),
				nullString(m.ContentType), jsonText(cleanHeaders(m.Headers)), m.CreatedAt.UTC(), nullString(m.TraceParent))
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
		case r.Token != nil:
			b.Queue(tokenInsert+` ON CONFLICT DO NOTHING`, tokenArgs(r.Token)...)
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
