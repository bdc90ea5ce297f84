package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

const messageCols = `id, app_id, event_type, event_id, channels, payload, content_type, headers, created_at, trace_parent`

// scanMessage scans a message's columns, then any extra columns of the row
// into extra.
func scanMessage(r interface{ Scan(...any) error }, extra ...any) (hookline.Message, error) {
	// One allocation holds every destination: each variable whose address
	// goes to Scan would otherwise be moved to the heap on its own.
	var v struct {
		m                                        hookline.Message
		eventID, chans, ctype, hdrs, traceParent sql.NullString
		payload                                  []byte
		created                                  int64
	}
	m := &v.m
	if err := r.Scan(append([]any{&m.ID, &m.AppID, &m.EventType, &v.eventID, &v.chans, &v.payload, &v.ctype, &v.hdrs, &v.created, &v.traceParent}, extra...)...); err != nil {
		return *m, err
	}
	m.EventID, m.Payload, m.ContentType, m.CreatedAt = v.eventID.String, v.payload, v.ctype.String, fromMicro(v.created)
	m.TraceParent = v.traceParent.String
	var err, err2 error
	m.Channels, err = sqlstore.ParseJSON[[]string](v.chans.String)
	m.Headers, err2 = sqlstore.ParseJSON[map[string][]string](v.hdrs.String)
	return *m, errors.Join(err, err2)
}

func headersText(h map[string][]string) any {
	if h == nil {
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		panic(fmt.Sprintf("encode headers: %v", err)) // a map of string slices always encodes
	}
	return string(b)
}

// MessageCreate stores a batch of messages with their deliveries in one
// transaction.
func (s *Store) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	if err := s.MessageCreateUnflushed(ctx, batch); err != nil {
		return err
	}
	return s.Flush()
}

// MessageCreateUnflushed is MessageCreate, but returns once the
// transaction has committed, before it is on disk; Flush puts it there.
func (s *Store) MessageCreateUnflushed(ctx context.Context, batch []*store.MessageCreate) error {
	given := make([]*hookline.Message, len(batch))
	for i, item := range batch {
		given[i] = item.Message
	}
	err := s.lazyTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// A run that found a message by its event ID put that message in
		// the item; a run again (see lazyTx) starts from the one given.
		for i, item := range batch {
			item.Message = given[i]
		}
		return s.createMessages(ctx, tx, batch)
	})
	if err != nil {
		return fmt.Errorf("create messages: %w", err)
	}
	return nil
}

// Flush puts every transaction committed so far on disk (see walSync).
func (s *Store) Flush() error { return s.wrote(s.wal.sync()) }

const (
	insertMessageSQL  = `INSERT INTO messages (` + messageCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertDeliverySQL = `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, next_attempt, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	messageByEventIDSQL = `SELECT ` + messageCols + ` FROM messages WHERE app_id = ? AND event_id = ?`
	appRateLimitSQL     = `SELECT rate_limit FROM apps WHERE id = ?`
	appEndpointsSQL     = `SELECT ` + endpointCols + ` FROM endpoints WHERE app_id = ? AND disabled = 0`
	publishVersionSQL   = `SELECT n FROM publish_version`
)

// appEndpoints are the enabled endpoints of an app, with its rate limit.
type appEndpoints struct {
	eps  []hookline.Endpoint
	rate *int
}

// createMessages stores a batch of messages with one delivery per accepting
// endpoint, within tx: leased to the caller where an item asks for it and
// its lease has room, else pending.
func (s *Store) createMessages(ctx context.Context, tx *sql.Tx, batch []*store.MessageCreate) error {
	// Messages with an event ID are written at once, so that a later one
	// in the batch with the same event ID finds them; the rest, and every
	// delivery, batchRows to a statement.
	msgs, dlvs := s.rowWriter(tx, insertMessages), s.rowWriter(tx, insertDeliveries)
	byEventID, err := s.txStmt(ctx, tx, messageByEventIDSQL)
	if err != nil {
		return err
	}
	// Endpoints are read once per app per batch (a batch is usually many
	// messages to few apps), from memory while they have not changed.
	endpoints := map[string]*appEndpoints{}
	version := int64(-1)
	var leases sqlstore.Leases
	sp := newSpans(spanDeliveries)
	for _, item := range batch {
		item.Err, item.Existing, item.Deliveries, item.Tasks = nil, false, nil, nil
		m := item.Message
		app, ok := endpoints[m.AppID]
		if !ok {
			if version < 0 {
				if version, err = s.publishVersion(ctx, tx); err != nil {
					return err
				}
			}
			if app, err = s.apps.get(ctx, tx, s, version, m.AppID); err != nil {
				return err
			}
			endpoints[m.AppID] = app
		}
		if app == nil {
			item.Err = fmt.Errorf("app %s: %w", m.AppID, hookline.ErrNotFound)
			continue
		}
		if m.EventID != "" {
			existing, err := scanMessage(byEventID.QueryRowContext(ctx, m.AppID, m.EventID))
			if err == nil {
				item.Message, item.Existing = &existing, true
				continue
			}
			if err != sql.ErrNoRows {
				return err
			}
		}
		created := micro(m.CreatedAt)
		row := []any{m.ID, m.AppID, m.EventType, nullString(m.EventID), jsonText(m.Channels), []byte(m.Payload),
			nullString(m.ContentType), headersText(m.Headers), created, nullString(m.TraceParent)}
		if m.EventID != "" {
			err = s.execStmt(ctx, tx, insertMessageSQL, row)
		} else {
			err = msgs.add(ctx, row...)
		}
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		for i := range app.eps {
			ep := &app.eps[i]
			if !item.Accepts(ep) {
				continue
			}
			d, due, _ := leases.Deliver(item, ep, app.rate)
			if err := dlvs.add(ctx, d.ID, d.AppID, d.MessageID, d.EndpointID, d.Status, micro(due), created, created); err != nil {
				return fmt.Errorf("insert delivery: %w", err)
			}
			sp.add(d.EndpointID, d.MessageID)
		}
	}
	if err := msgs.flush(ctx); err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if err := dlvs.flush(ctx); err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	return sp.save(ctx, s, tx)
}

// publishVersion reads the count of writes to apps and endpoints (see
// migration 0013).
func (s *Store) publishVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	st, err := s.txStmt(ctx, tx, publishVersionSQL)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := st.QueryRowContext(ctx).Scan(&n); err != nil {
		return 0, fmt.Errorf("read publish version: %w", err)
	}
	return n, nil
}

// appCache keeps what publishes read of each app: its enabled endpoints
// and rate limit, or that it does not exist. Triggers count every write to
// apps and endpoints (migration 0013); an entry serves only while that
// count is the one it was read at. A transaction that does not commit
// empties the cache, as what it read may have been its own writes.
type appCache struct {
	mu      sync.Mutex
	version int64
	apps    map[string]*appEndpoints
}

// appCacheMax bounds the apps kept; past it the cache starts again empty.
const appCacheMax = 10_000

// get returns the app's endpoints as of version, read within tx when the
// cache does not hold them.
func (c *appCache) get(ctx context.Context, tx *sql.Tx, s *Store, version int64, appID string) (*appEndpoints, error) {
	c.mu.Lock()
	if c.apps == nil || c.version != version || len(c.apps) >= appCacheMax {
		c.apps, c.version = map[string]*appEndpoints{}, version
	}
	app, ok := c.apps[appID]
	c.mu.Unlock()
	if ok {
		return app, nil
	}
	app, err := s.appEndpoints(ctx, tx, appID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.version == version && c.apps != nil {
		c.apps[appID] = app
	}
	c.mu.Unlock()
	return app, nil
}

// forget empties the cache.
func (c *appCache) forget() {
	c.mu.Lock()
	c.apps = nil
	c.mu.Unlock()
}

// appEndpoints returns the enabled endpoints of an app with the app's rate
// limit, or nil for an app that does not exist.
func (s *Store) appEndpoints(ctx context.Context, tx *sql.Tx, appID string) (*appEndpoints, error) {
	rateStmt, err := s.txStmt(ctx, tx, appRateLimitSQL)
	if err != nil {
		return nil, err
	}
	var rate sql.NullInt64
	switch err := rateStmt.QueryRowContext(ctx, appID).Scan(&rate); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	list, err := s.txStmt(ctx, tx, appEndpointsSQL)
	if err != nil {
		return nil, err
	}
	rows, err := list.QueryContext(ctx, appID)
	eps, err := sqlstore.Collect(rows, err, func(r *sql.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, err
	}
	return &appEndpoints{eps: eps, rate: intPtr(rate)}, nil
}

// MessageGet finds a message by ID or event ID.
func (s *Store) MessageGet(ctx context.Context, appID, idOrEventID string) (*hookline.Message, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE app_id = ?1 AND (id = ?2 OR event_id = ?2) LIMIT 1`, appID, idOrEventID))
	if err != nil {
		return nil, notFound(err, "message "+idOrEventID)
	}
	return &m, nil
}

// messagesFrom returns the FROM clause of a list of an app's messages.
// The rows of one event type are found through its index: SQLite's
// planner, with no statistics, takes the app's index instead once the
// query bounds the IDs at both ends, as the second query of a list does,
// and walks every row of the app between the page's first and last, which
// for a rare type are far apart.
func messagesFrom(f store.MessageFilter) string {
	if len(f.EventTypes) == 1 {
		return "messages INDEXED BY messages_event_type"
	}
	return "messages"
}

// MessageList lists the messages of an app.
func (s *Store) MessageList(ctx context.Context, appID string, f store.MessageFilter) ([]hookline.Message, bool, error) {
	q := dialect.Query()
	q.MessageListConds(appID, f)
	q.Weigh(`octet_length(payload) + coalesce(octet_length(headers), 0)`)
	msgs, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, messageCols, messagesFrom(f), "id", f.Page, func(r *sql.Rows) (hookline.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list messages: %w", err)
	}
	return msgs, done, nil
}

const deliveryCols = `d.id, d.app_id, d.msg_id, d.endpoint_id, d.status, d.trigger_type, d.attempts, d.next_attempt, d.created_at, d.updated_at`

func deliveryDest(d *hookline.Delivery, next *sql.NullInt64, c, u *int64) []any {
	return []any{&d.ID, &d.AppID, &d.MessageID, &d.EndpointID, &d.Status, &d.Trigger, &d.Attempts, next, c, u}
}

func finishDelivery(d *hookline.Delivery, next sql.NullInt64, c, u int64) {
	d.CreatedAt, d.UpdatedAt = fromMicro(c), fromMicro(u)
	if next.Valid && d.Status != hookline.StatusSending {
		d.NextAttempt = fromMicro(next.Int64)
	}
}

// The statements of claiming. Endpoint IDs to leave out, and the IDs of the
// claimed deliveries' messages and endpoints, are passed as JSON arrays so
// that each statement is prepared once.
const (
	// claimSQL takes due deliveries endpoint by endpoint (each endpoint's
	// oldest first), leaving out the excluded endpoints before looking at
	// any of their deliveries: a claim costs the number of endpoints plus
	// the deliveries it takes, however large the backlog of an excluded
	// endpoint. CROSS JOIN keeps SQLite from reordering the loops.
	claimSQL = `UPDATE deliveries SET status = ?, next_attempt = ?, updated_at = ?
		WHERE id IN (SELECT d.id FROM endpoints e CROSS JOIN deliveries d INDEXED BY deliveries_endpoint_due
			WHERE e.id NOT IN (SELECT value FROM json_each(?)) AND d.endpoint_id = e.id AND d.next_attempt <= ?
			LIMIT ?)
		RETURNING id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at`
	messagesByIDSQL = `SELECT ` + messageCols + ` FROM messages WHERE id IN (SELECT value FROM json_each(?))`
	// Each endpoint comes with its app's rate limit, the default for
	// endpoints without their own.
	endpointsByIDSQL = `SELECT ` + endpointCols + `, (SELECT rate_limit FROM apps WHERE apps.id = endpoints.app_id)
		FROM endpoints WHERE id IN (SELECT value FROM json_each(?))`
)

// DeliveryClaim leases due deliveries.
func (s *Store) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	var tasks []store.Task
	err := s.lazyTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		tasks = nil
		claim, err := s.txStmt(ctx, tx, claimSQL)
		if err != nil {
			return err
		}
		rows, err := claim.QueryContext(ctx, hookline.StatusSending, micro(c.LeaseUntil), micro(c.Now), idList(c.Exclude), micro(c.Now), max(c.Limit, 1))
		dels, err := sqlstore.Collect(rows, err, func(r *sql.Rows) (hookline.Delivery, error) {
			var (
				d    hookline.Delivery
				next sql.NullInt64
				c, u int64
			)
			err := r.Scan(deliveryDest(&d, &next, &c, &u)...)
			finishDelivery(&d, next, c, u)
			return d, err
		})
		if err != nil || len(dels) == 0 {
			return err
		}
		slices.SortFunc(dels, func(a, b hookline.Delivery) int { return strings.Compare(a.ID, b.ID) })
		msgIDs, epIDs := sqlstore.ClaimedIDs(dels)
		byID, err := s.txStmt(ctx, tx, messagesByIDSQL)
		if err != nil {
			return err
		}
		rows, err = byID.QueryContext(ctx, idList(msgIDs))
		msgs, err := sqlstore.Collect(rows, err, func(r *sql.Rows) (hookline.Message, error) { return scanMessage(r) })
		if err != nil {
			return err
		}
		epByIDStmt, err := s.txStmt(ctx, tx, endpointsByIDSQL)
		if err != nil {
			return err
		}
		rows, err = epByIDStmt.QueryContext(ctx, idList(epIDs))
		type endpointRate struct {
			ep   hookline.Endpoint
			rate *int
		}
		eps, err := sqlstore.Collect(rows, err, func(r *sql.Rows) (endpointRate, error) {
			var appRate sql.NullInt64
			ep, err := scanEndpoint(r, &appRate)
			return endpointRate{ep, ep.EffectiveRateLimit(intPtr(appRate))}, err
		})
		if err != nil {
			return err
		}
		// Each message has an allocation of its own: a task the dispatcher
		// keeps must not keep the payloads of those it hands back.
		msgByID := make(map[string]*hookline.Message, len(msgs))
		for i := range msgs {
			m := msgs[i]
			msgByID[m.ID] = &m
		}
		epByID := make(map[string]*endpointRate, len(eps))
		for i := range eps {
			epByID[eps[i].ep.ID] = &eps[i]
		}
		tasks = make([]store.Task, len(dels))
		for i, d := range dels {
			tasks[i] = store.Task{Delivery: d, Message: msgByID[d.MessageID]}
			if er := epByID[d.EndpointID]; er != nil {
				tasks[i].Endpoint, tasks[i].RateLimit = &er.ep, er.rate
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return tasks, nil
}

const (
	// finishDeliverySQL takes the ID first, as the rows of
	// finishDeliveriesSQL do.
	finishDeliverySQL = `UPDATE deliveries SET status = ?2, attempts = ?3, next_attempt = ?4, updated_at = ?5 WHERE id = ?1 AND status = ` + sendingStatus
	insertAttemptSQL  = `INSERT INTO attempts (id, delivery_id, app_id, msg_id, endpoint_id, url, status, trigger_type,
		status_code, response_headers, response, duration_us, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	endpointHealthySQL = `UPDATE endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`
	endpointFailingSQL = `UPDATE endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`
	endpointDisableSQL = `UPDATE endpoints SET disabled = 1, disabled_reason = ? WHERE id = ?`
)

// sendingStatus is hookline.StatusSending, the status a delivery has
// while it is claimed. A result is stored only over it: a delivery queued
// again while its send was in flight (a resend) stays queued, to be sent
// again.
const sendingStatus = "3"

var (
	insertMessages   = insertRows(insertMessageSQL, 10)
	insertDeliveries = insertRows(insertDeliverySQL, 8)
	finishDeliveries = rowStatement{one: finishDeliverySQL, cols: 5,
		many: `UPDATE deliveries SET status = v.column2, attempts = v.column3, next_attempt = v.column4, updated_at = v.column5
		FROM (VALUES ` + rowPlaceholders(batchRows, 5) + `) AS v WHERE deliveries.id = v.column1 AND deliveries.status = ` + sendingStatus}
	insertAttempts = insertRows(insertAttemptSQL, 14)
)

// DeliveryFinish stores the results of claimed deliveries. The rows are
// made before the transaction, so that the one writer spends its time on
// the writes alone.
func (s *Store) DeliveryFinish(ctx context.Context, results []store.Result) error {
	return s.deliveryFinish(ctx, results, 0)
}

// DeliveryFinishLazy is DeliveryFinish, but the results join the next
// transaction that begins for other writes, such as a publish's, and begin
// one of their own only once wait has passed with none (see combiner.ride).
func (s *Store) DeliveryFinishLazy(ctx context.Context, results []store.Result, wait time.Duration) error {
	return s.deliveryFinish(ctx, results, wait)
}

func (s *Store) deliveryFinish(ctx context.Context, results []store.Result, wait time.Duration) error {
	if len(results) == 0 {
		return nil
	}
	attempts, sp := attemptRows(results)
	var health sqlstore.Health
	for _, r := range results {
		health.Add(r)
	}
	write := func(ctx context.Context, tx *sql.Tx) error {
		if err := s.finishDeliveries(ctx, tx, results); err != nil {
			return err
		}
		if err := s.insertAttempts(ctx, tx, attempts, sp); err != nil {
			return err
		}
		for _, id := range health.Endpoints() {
			if err := s.saveHealth(ctx, tx, id, health.Endpoint(id)); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if wait > 0 {
		err = s.wrote(s.comb.ride(ctx, write, wait))
	} else {
		err = s.lazyTx(ctx, write)
	}
	if err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	return nil
}

// finishDeliveries writes the new state of each result's delivery,
// batchRows to a statement. A delivery that appears twice takes its last
// result, as row-by-row updates in order would leave it.
func (s *Store) finishDeliveries(ctx context.Context, tx *sql.Tx, results []store.Result) error {
	last := make(map[string]int, len(results))
	for i, r := range results {
		last[r.Delivery.ID] = i
	}
	w := s.rowWriter(tx, finishDeliveries)
	for i := range results {
		d := &results[i].Delivery
		if last[d.ID] != i || results[i].Superseded {
			continue
		}
		if err := w.add(ctx, d.ID, d.Status, d.Attempts, microPtr(&d.NextAttempt), micro(d.UpdatedAt)); err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return fmt.Errorf("update delivery: %w", err)
	}
	return nil
}

// attemptRows returns the rows of the results' attempts, one after
// another, and the spans their IDs take.
func attemptRows(results []store.Result) ([]any, *spans) {
	rows := make([]any, 0, len(results)*insertAttempts.cols)
	sp := newSpans(spanAttempts)
	for _, r := range results {
		a := r.Attempt
		if a == nil {
			continue
		}
		rows = append(rows, a.ID, a.DeliveryID, a.AppID, a.MessageID, a.EndpointID, a.URL, a.Status, a.Trigger,
			a.StatusCode, headersText(a.ResponseHeaders), a.Response, a.Duration.Microseconds(), a.Error, micro(a.CreatedAt))
		sp.add(a.EndpointID, a.ID)
	}
	return rows, sp
}

// insertAttempts records attempts, given as attemptRows makes them,
// batchRows to a statement.
func (s *Store) insertAttempts(ctx context.Context, tx *sql.Tx, rows []any, sp *spans) error {
	w := s.rowWriter(tx, insertAttempts)
	for i := 0; i < len(rows); i += insertAttempts.cols {
		if err := w.add(ctx, rows[i:i+insertAttempts.cols]...); err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return fmt.Errorf("insert attempt: %w", err)
	}
	return sp.save(ctx, s, tx)
}

// saveHealth writes the fold of a batch's results for one endpoint.
func (s *Store) saveHealth(ctx context.Context, tx *sql.Tx, id string, h *sqlstore.EndpointHealth) error {
	exec := func(query string, args ...any) error {
		st, err := s.txStmt(ctx, tx, query)
		if err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
		return err
	}
	var err error
	switch change, since := h.Change(); change {
	case sqlstore.HealthOK:
		err = exec(endpointHealthySQL, id)
	case sqlstore.HealthFailing:
		err = exec(endpointFailingSQL, micro(since), id)
	}
	if err == nil && h.Disable != "" {
		err = exec(endpointDisableSQL, h.Disable, id)
	}
	if err != nil {
		return fmt.Errorf("update endpoint health: %w", err)
	}
	return nil
}

// DeliveryRelease returns claimed deliveries to pending, due at once.
func (s *Store) DeliveryRelease(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	// Due at time zero: before any claim's "now", whatever clock it uses.
	_, err := s.exec(ctx, `UPDATE deliveries SET status = ?, next_attempt = 0 WHERE status = ? AND id IN (SELECT value FROM json_each(?))`,
		hookline.StatusPending, hookline.StatusSending, idList(ids))
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	return nil
}

// DeliveryCreate queues a message for an endpoint again.
func (s *Store) DeliveryCreate(ctx context.Context, d *hookline.Delivery) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM messages WHERE id = ?1 AND app_id = ?3) + (SELECT count(*) FROM endpoints WHERE id = ?2 AND app_id = ?3)`,
			d.MessageID, d.EndpointID, d.AppID).Scan(&n)
		if err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("message %s or endpoint %s: %w", d.MessageID, d.EndpointID, hookline.ErrNotFound)
		}
		if d.ID == "" {
			d.ID = hookline.NewID(hookline.PrefixDelivery)
		}
		d.Attempts = 0
		sp := newSpans(spanDeliveries)
		sp.add(d.EndpointID, d.MessageID)
		if err := sp.save(ctx, s, tx); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
			ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET status = excluded.status, trigger_type = excluded.trigger_type,
				attempts = 0, next_attempt = excluded.next_attempt, updated_at = excluded.updated_at
			RETURNING id, created_at`,
			d.ID, d.AppID, d.MessageID, d.EndpointID, d.Status, d.Trigger, micro(d.NextAttempt), micro(d.CreatedAt), micro(d.UpdatedAt),
		).Scan(&d.ID, new(int64))
	})
	if err != nil {
		return fmt.Errorf("create delivery: %w", err)
	}
	return nil
}

// DeliveryRecover requeues the failed deliveries of an endpoint. It finds
// them through deliveries_failed, which holds failed deliveries alone, so
// the writer's time follows the endpoint's failures in the window, not
// every delivery it ever had.
func (s *Store) DeliveryRecover(ctx context.Context, appID, endpointID string, w store.Window, now time.Time) (int, error) {
	q := dialect.Query()
	q.Add("t.app_id = ?", appID)
	q.Window("t.created_at", w)
	// The conditions' parameters follow the numbered ones.
	args := append([]any{endpointID, hookline.StatusPending, hookline.TriggerManual, micro(now), micro(now)}, q.Args()...)
	res, err := s.exec(ctx, recoverSQL+q.Where()+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("recover deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// recoverSQL, followed by conditions on t and a closing parenthesis,
// requeues failed deliveries of endpoint ?1. The status is written out, as
// SQLite uses a partial index only for conditions it can see imply the
// index's own.
var recoverSQL = `UPDATE deliveries SET status = ?2, trigger_type = ?3, attempts = 0, next_attempt = ?4, updated_at = ?5
	WHERE rowid IN (SELECT t.rowid FROM deliveries t INDEXED BY deliveries_failed
		WHERE t.endpoint_id = ?1 AND t.status = ` + strconv.Itoa(int(hookline.StatusFail)) + ` AND `

const attemptCols = `a.id, a.delivery_id, a.app_id, a.msg_id, a.endpoint_id, a.url, a.status, a.trigger_type, a.status_code,
	a.response_headers, a.response, a.duration_us, a.error, a.created_at`

func scanAttempt(r interface{ Scan(...any) error }) (hookline.Attempt, error) {
	var (
		a      hookline.Attempt
		hdrs   sql.NullString
		dur, c int64
	)
	err := r.Scan(&a.ID, &a.DeliveryID, &a.AppID, &a.MessageID, &a.EndpointID, &a.URL, &a.Status, &a.Trigger, &a.StatusCode,
		&hdrs, &a.Response, &dur, &a.Error, &c)
	if err != nil {
		return a, err
	}
	a.Duration, a.CreatedAt = time.Duration(dur)*time.Microsecond, fromMicro(c)
	a.ResponseHeaders, err = sqlstore.ParseJSON[map[string][]string](hdrs.String)
	return a, err
}

// AttemptList lists attempts by message or by endpoint.
func (s *Store) AttemptList(ctx context.Context, appID string, f store.AttemptFilter) ([]hookline.Attempt, bool, error) {
	q := dialect.Query()
	q.AttemptConds(appID, f)
	q.Weigh(`octet_length(a.response) + coalesce(octet_length(a.response_headers), 0)`)
	from := "attempts a"
	if f.EndpointID != "" && f.MessageID == "" {
		throughSpans(&q, spanAttempts, f.EndpointID, "a.id", f.Page)
		from = endpointAttemptsFrom
	}
	atts, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, attemptCols, from, "a.id", f.Page, func(r *sql.Rows) (hookline.Attempt, error) { return scanAttempt(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list attempts: %w", err)
	}
	return atts, done, nil
}

// AttemptGet finds one attempt of a message.
func (s *Store) AttemptGet(ctx context.Context, appID, msgID, attemptID string) (*hookline.Attempt, error) {
	a, err := scanAttempt(s.r.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM attempts a WHERE a.id = ? AND a.app_id = ? AND a.msg_id = ?`, attemptID, appID, msgID))
	if err != nil {
		return nil, notFound(err, "attempt "+attemptID)
	}
	return &a, nil
}

// MessageEndpointList lists the endpoints a message was sent to.
func (s *Store) MessageEndpointList(ctx context.Context, appID, msgID string, p store.Page) ([]store.EndpointStatus, bool, error) {
	q := dialect.Query()
	q.Add("d.app_id = ?", appID)
	q.Add("d.msg_id = ?", msgID)
	out, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, sqlstore.Prefixed("e.", endpointCols)+", "+deliveryCols, "deliveries d JOIN endpoints e ON e.id = d.endpoint_id", "e.id", p, func(r *sql.Rows) (store.EndpointStatus, error) {
		var (
			es   store.EndpointStatus
			next sql.NullInt64
			c, u int64
		)
		var err error
		es.Endpoint, err = scanEndpoint(r, deliveryDest(&es.Delivery, &next, &c, &u)...)
		finishDelivery(&es.Delivery, next, c, u)
		return es, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list message endpoints: %w", err)
	}
	return out, done, nil
}

// EndpointMessageList lists the messages sent to an endpoint.
func (s *Store) EndpointMessageList(ctx context.Context, appID, endpointID string, f store.EndpointMessageFilter) ([]store.MessageStatus, bool, error) {
	q := dialect.Query()
	q.EndpointMessageConds(appID, endpointID, f)
	q.Weigh(`octet_length(m.payload) + coalesce(octet_length(m.headers), 0)`)
	throughSpans(&q, spanDeliveries, endpointID, "d.msg_id", f.Page)
	out, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, sqlstore.Prefixed("m.", messageCols)+", "+deliveryCols,
		endpointMessagesFrom, "d.msg_id", f.Page, func(r *sql.Rows) (store.MessageStatus, error) {
			var (
				ms   store.MessageStatus
				next sql.NullInt64
				c, u int64
				err  error
			)
			ms.Message, err = scanMessage(r, deliveryDest(&ms.Delivery, &next, &c, &u)...)
			finishDelivery(&ms.Delivery, next, c, u)
			return ms, err
		})
	if err != nil {
		return nil, false, fmt.Errorf("list endpoint messages: %w", err)
	}
	return out, done, nil
}
