package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// dumpPage is how many rows Dump reads per query.
const dumpPage = 1000

// Tables gives, for Dump, the column list of each table and how to scan
// one of its rows; R is the adapter's rows type.
type Tables[R Rows] struct {
	AppCols, EventTypeCols, EndpointCols, MessageCols string
	// DeliveryCols and AttemptCols are qualified by the aliases d and a.
	DeliveryCols, AttemptCols         string
	SourceCols, ReceivedCols, RunCols string
	TokenCols                         string
	App                               func(R) (hookline.App, error)
	EventType                         func(R) (hookline.EventType, error)
	Endpoint                          func(R) (hookline.Endpoint, error)
	Message                           func(R) (hookline.Message, error)
	Delivery                          func(R) (hookline.Delivery, error)
	Attempt                           func(R) (hookline.Attempt, error)
	Received                          func(R) (hookline.Received, error)
	Run                               func(R) (hookline.Run, error)
	Token                             func(R) (hookline.Token, error)
	// Source scans a source's columns followed by its ack_cursor into
	// cursor.
	Source func(r R, cursor *string) (hookline.Source, error)
}

// Dump calls fn with every record of a store, table by table in key order,
// each source followed by its cursor: the Dump of store.Copier. query runs
// a query, as for List.
func Dump[R Rows](ctx context.Context, d *Dialect, query func(context.Context, string, ...any) (R, error), t *Tables[R], fn func(store.Record) error) error {
	if err := dumpTable(ctx, d, query, t.AppCols, "apps", "id", t.App, func(a hookline.App) string { return a.ID },
		func(a hookline.App) error { return fn(store.Record{App: &a}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.EventTypeCols, "event_types", "name", t.EventType, func(e hookline.EventType) string { return e.Name },
		func(e hookline.EventType) error { return fn(store.Record{EventType: &e}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.EndpointCols, "endpoints", "id", t.Endpoint, func(e hookline.Endpoint) string { return e.ID },
		func(e hookline.Endpoint) error { return fn(store.Record{Endpoint: &e}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.MessageCols, "messages", "id", t.Message, func(m hookline.Message) string { return m.ID },
		func(m hookline.Message) error { return fn(store.Record{Message: &m}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.DeliveryCols, "deliveries d", "d.id", t.Delivery, func(d hookline.Delivery) string { return d.ID },
		func(d hookline.Delivery) error { return fn(store.Record{Delivery: &d}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.AttemptCols, "attempts a", "a.id", t.Attempt, func(a hookline.Attempt) string { return a.ID },
		func(a hookline.Attempt) error { return fn(store.Record{Attempt: &a}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, "key, value", "settings", "key", func(r R) (store.Setting, error) {
		var st store.Setting
		return st, r.Scan(&st.Key, &st.Value)
	}, func(st store.Setting) string { return st.Key }, func(st store.Setting) error { return fn(store.Record{Setting: &st}) }); err != nil {
		return err
	}
	type sourceRow struct {
		src    hookline.Source
		cursor string
	}
	if err := dumpTable(ctx, d, query, t.SourceCols+", ack_cursor", "sources", "id", func(r R) (sourceRow, error) {
		var row sourceRow
		var err error
		row.src, err = t.Source(r, &row.cursor)
		return row, err
	}, func(row sourceRow) string { return row.src.ID }, func(row sourceRow) error {
		if err := fn(store.Record{Source: &row.src}); err != nil || row.cursor == "" {
			return err
		}
		return fn(store.Record{Cursor: &store.SourceCursor{SourceID: row.src.ID, ReceivedID: row.cursor}})
	}); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.ReceivedCols, "received", "id", t.Received, func(x hookline.Received) string { return x.ID },
		func(x hookline.Received) error { return fn(store.Record{Received: &x}) }); err != nil {
		return err
	}
	if err := dumpTable(ctx, d, query, t.RunCols, "runs", "id", t.Run, func(run hookline.Run) string { return run.ID },
		func(run hookline.Run) error { return fn(store.Record{Run: &run}) }); err != nil {
		return err
	}
	return dumpTable(ctx, d, query, t.TokenCols, "tokens", "id", t.Token, func(tok hookline.Token) string { return tok.ID },
		func(tok hookline.Token) error { return fn(store.Record{Token: &tok}) })
}

// dumpTable pages through one table in key order, calling emit for each
// row; keyOf gives a row's key, where the next page starts after.
func dumpTable[R Rows, T any](ctx context.Context, d *Dialect, query func(context.Context, string, ...any) (R, error),
	cols, table, key string, scan func(R) (T, error), keyOf func(T) string, emit func(T) error,
) error {
	sql := d.rebind(`SELECT `+cols+` FROM `+table+` WHERE `+key+` > ? ORDER BY `+key+` LIMIT ?`, 0)
	after := ""
	for {
		rows, err := query(ctx, sql, after, dumpPage)
		items, err := Collect(rows, err, scan)
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
