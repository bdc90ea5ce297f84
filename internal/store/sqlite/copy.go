package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.Copier = (*Store)(nil)

// Dump calls fn with every record of the store.
func (s *Store) Dump(ctx context.Context, fn func(store.Record) error) error {
	return sqlstore.Dump(ctx, &dialect, s.r.QueryContext, &dumpTables, fn)
}

// dumpTables is how Dump reads each table.
var dumpTables = sqlstore.Tables[*sql.Rows]{
	AppCols: appCols, EventTypeCols: eventTypeCols, EndpointCols: endpointCols, MessageCols: messageCols,
	DeliveryCols: deliveryCols, AttemptCols: attemptCols, SourceCols: sourceCols, ReceivedCols: receivedCols, RunCols: runCols,
	App:       func(r *sql.Rows) (hookline.App, error) { return scanApp(r) },
	EventType: func(r *sql.Rows) (hookline.EventType, error) { return scanEventType(r) },
	Endpoint:  func(r *sql.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) },
	Message:   func(r *sql.Rows) (hookline.Message, error) { return scanMessage(r) },
	Delivery:  scanDumpedDelivery,
	Attempt:   func(r *sql.Rows) (hookline.Attempt, error) { return scanAttempt(r) },
	Source:    func(r *sql.Rows, cursor *string) (hookline.Source, error) { return scanSource(r, cursor) },
	Received:  func(r *sql.Rows) (hookline.Received, error) { return scanReceived(r) },
	Run:       func(r *sql.Rows) (hookline.Run, error) { return scanRun(r) },
	TokenCols: tokenCols,
	Token:     func(r *sql.Rows) (hookline.Token, error) { return scanToken(r) },
}

// scanDumpedDelivery scans a delivery as Dump copies it: with its stored
// next_attempt whatever its status.
func scanDumpedDelivery(r *sql.Rows) (hookline.Delivery, error) {
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

// Load stores records as they are, skipping those whose key exists.
func (s *Store) Load(ctx context.Context, recs []store.Record) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		dsp, asp := newSpans(spanDeliveries), newSpans(spanAttempts)
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
				_, err = tx.ExecContext(ctx, `INSERT INTO messages (`+messageCols+`) VALUES (`+placeholders(10)+`) ON CONFLICT DO NOTHING`,
					m.ID, m.AppID, m.EventType, nullString(m.EventID), jsonText(m.Channels), []byte(m.Payload),
					nullString(m.ContentType), headersText(m.Headers), micro(m.CreatedAt), nullString(m.TraceParent))
			case r.Delivery != nil:
				d := r.Delivery
				_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					d.ID, d.AppID, d.MessageID, d.EndpointID, d.Status, d.Trigger, d.Attempts, microPtr(&d.NextAttempt), micro(d.CreatedAt), micro(d.UpdatedAt))
				dsp.add(d.EndpointID, d.MessageID)
			case r.Attempt != nil:
				a := r.Attempt
				_, err = tx.ExecContext(ctx, `INSERT INTO attempts (id, delivery_id, app_id, msg_id, endpoint_id, url, status, trigger_type,
					status_code, response_headers, response, duration_us, error, created_at) VALUES (`+placeholders(14)+`) ON CONFLICT DO NOTHING`,
					a.ID, a.DeliveryID, a.AppID, a.MessageID, a.EndpointID, a.URL, a.Status, a.Trigger,
					a.StatusCode, headersText(a.ResponseHeaders), a.Response, a.Duration.Microseconds(), a.Error, micro(a.CreatedAt))
				asp.add(a.EndpointID, a.ID)
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
			case r.Token != nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (`+placeholders(13)+`) ON CONFLICT DO NOTHING`, tokenArgs(r.Token)...)
			}
			if err != nil {
				return err
			}
		}
		if err := dsp.save(ctx, s, tx); err != nil {
			return err
		}
		return asp.save(ctx, s, tx)
	})
	if err != nil {
		return fmt.Errorf("load records: %w", err)
	}
	return nil
}
