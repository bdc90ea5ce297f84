package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

const messageCols = `id, app_id, event_type, event_id, channels, payload, content_type, headers, created_at, trace_parent`

// scanMessage scans a message's columns, then any extra columns of the row
// into extra.
func scanMessage(r scanner, extra ...any) (hookline.Message, error) {
	// One allocation holds every destination: each variable whose address
	// goes to Scan would otherwise be moved to the heap on its own.
	var v struct {
		m                           hookline.Message
		eventID, ctype, traceParent *string
		chans, hdrs, payload        []byte
	}
	m := &v.m
	if err := r.Scan(append([]any{&m.ID, &m.AppID, &m.EventType, &v.eventID, &v.chans, &v.payload, &v.ctype, &v.hdrs, &m.CreatedAt, &v.traceParent}, extra...)...); err != nil {
		return *m, err
	}
	if v.traceParent != nil {
		m.TraceParent = *v.traceParent
	}
	if v.eventID != nil {
		m.EventID = *v.eventID
	}
	if v.ctype != nil {
		m.ContentType = *v.ctype
	}
	m.Payload, m.CreatedAt = v.payload, m.CreatedAt.UTC()
	var err, err2 error
	m.Channels, err = sqlstore.ParseJSON[[]string](v.chans)
	m.Headers, err2 = sqlstore.ParseJSON[map[string][]string](v.hdrs)
	if err == nil {
		err = err2
	}
	return *m, err
}

// textOrNull is a nullable element of a text[] parameter.
func textOrNull(v any) pgtype.Text {
	if s, ok := v.(string); ok {
		return pgtype.Text{String: s, Valid: true}
	}
	return pgtype.Text{}
}

// sendingStatus is hookline.StatusSending, the status a delivery has
// while it is claimed. A result is stored only over it: a delivery queued
// again while its send was in flight (a resend) stays queued, to be sent
// again.
const sendingStatus = "3"

// MessageCreate stores a batch of messages with their deliveries in one
// transaction. When the store knows the batch's apps from an earlier
// publish, that is one round trip: the insert checks that the apps and
// their endpoints are still those it knew. Otherwise, or when they
// changed, it is two: the first begins the transaction and reads what the
// batch needs, the second inserts each kind of row as one multi-row INSERT
// from arrays and commits.
func (s *Store) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	var err error
	for try := 0; try < 3; try++ {
		err = s.createOwn(ctx, batch)
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			break
		}
	}
	if err = s.pool.writes.Record(fault(err)); err != nil {
		return fmt.Errorf("create messages: %w", err)
	}
	return nil
}

// createOwn runs createMessages in a transaction of its own on one
// connection, rolled back if it fails.
func (s *Store) createOwn(ctx context.Context, batch []*store.MessageCreate) error {
	c, err := s.pool.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	err = createMessages(ctx, c.Conn(), batch, true, &s.apps)
	if err != nil && c.Conn().PgConn().TxStatus() != 'I' {
		// A connection left in a transaction is closed on release
		// instead; the rollback keeps it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		c.Exec(rctx, `ROLLBACK`)
		cancel()
	}
	return err
}

// appKey names a message by its app and event ID.
type appKey struct{ app, eventID string }

// batcher sends statements in batches: a transaction, or a connection
// outside of one.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// appInfo is what a publish reads of an app: its rate limit, its enabled
// endpoints, and the fingerprint of the rows they were read from.
type appInfo struct {
	rate      *int
	endpoints []hookline.Endpoint
	fp        string
}

// appFingerprint is an expression that changes whenever the app a, or
// any of its endpoints, is written, created or deleted: the transaction
// IDs of the app's row and of its endpoints' rows, and their count. A
// publish keeps an app's endpoints only as long as it is the same, and
// no trigger or shared counter has to be written for it.
const appFingerprint = `a.xmin::text || ':' || (SELECT count(*) || ':' || coalesce(sum(e.xmin::text::bigint), 0)
	FROM endpoints e WHERE e.app_id = a.id)`

// appCache keeps the appInfo of the apps publishes have read, for the
// next publishes to the same apps to check instead of read.
type appCache struct {
	mu   sync.Mutex
	apps map[string]*appInfo
}

// appCacheMax bounds the apps kept; past it the cache starts again empty.
const appCacheMax = 10_000

// lookup returns the kept appInfo of every one of ids, or false if one is
// missing.
func (c *appCache) lookup(ids []string) (map[string]*appInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	infos := make(map[string]*appInfo, len(ids))
	for _, id := range ids {
		a, ok := c.apps[id]
		if !ok {
			return nil, false
		}
		infos[id] = a
	}
	return infos, true
}

func (c *appCache) put(infos map[string]*appInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apps == nil || len(c.apps)+len(infos) > appCacheMax {
		c.apps = make(map[string]*appInfo, len(infos))
	}
	maps.Copy(c.apps, infos)
}

func (c *appCache) forget(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.apps, id)
	}
}

// createMessages stores batch through c. With own set, c is a connection
// outside a transaction, and the batch is a transaction of its own;
// without, c is a transaction that goes on. With cache, a batch whose
// apps it holds is stored in one round trip, else in two (see
// MessageCreate).
func createMessages(ctx context.Context, c batcher, batch []*store.MessageCreate, own bool, cache *appCache) error {
	var appIDs []string
	seenApp := map[string]bool{}
	var keyApps, keyIDs []string
	for _, item := range batch {
		m := item.Message
		if !seenApp[m.AppID] {
			seenApp[m.AppID] = true
			appIDs = append(appIDs, m.AppID)
		}
		if m.EventID != "" {
			keyApps, keyIDs = append(keyApps, m.AppID), append(keyIDs, clean(m.EventID))
		}
	}
	if own && cache != nil {
		if infos, ok := cache.lookup(appIDs); ok {
			stored, err := insertMessages(ctx, c, batch, infos, nil, true, true)
			if err != nil || stored {
				return err
			}
			// An app or its endpoints changed since they were read:
			// nothing was stored, and they are read again.
			cache.forget(appIDs)
		}
	}

	// One round trip reads the apps, their enabled endpoints, and the
	// messages that already have one of the batch's event IDs. FOR KEY
	// SHARE keeps the apps from being deleted under the new messages.
	b := &pgx.Batch{}
	if own {
		b.Queue(`BEGIN`)
	}
	b.Queue(`SELECT a.id, a.rate_limit, `+appFingerprint+` FROM apps a WHERE a.id = ANY($1) FOR KEY SHARE OF a`, appIDs)
	b.Queue(`SELECT `+endpointCols+` FROM endpoints WHERE app_id = ANY($1) AND NOT disabled ORDER BY id`, appIDs)
	b.Queue(`SELECT `+messageCols+` FROM messages WHERE (app_id, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, keyApps, keyIDs)
	br := c.SendBatch(ctx, b)
	if own {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	rows, err := br.Query()
	infos := map[string]*appInfo{}
	_, err = sqlstore.Collect(rows, err, func(r pgx.Rows) (struct{}, error) {
		var id string
		a := &appInfo{endpoints: []hookline.Endpoint{}}
		err := r.Scan(&id, &a.rate, &a.fp)
		infos[id] = a
		return struct{}{}, err
	})
	if err != nil {
		br.Close()
		return err
	}
	rows, err = br.Query()
	eps, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		br.Close()
		return err
	}
	rows, err = br.Query()
	existing, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Message, error) { return scanMessage(r) })
	if err != nil {
		br.Close()
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}
	for _, e := range eps {
		if a := infos[e.AppID]; a != nil {
			a.endpoints = append(a.endpoints, e)
		}
	}
	if cache != nil {
		cache.put(infos)
	}
	byKey := make(map[appKey]*hookline.Message, len(existing))
	for i := range existing {
		byKey[appKey{existing[i].AppID, existing[i].EventID}] = &existing[i]
	}
	_, err = insertMessages(ctx, c, batch, infos, byKey, own, false)
	return err
}

// insertMessages writes the messages of batch with their deliveries, from
// the apps of infos, and with own commits the transaction. With check, it
// also begins it, and writes nothing unless every app's fingerprint is
// still the one in infos: then it reports false. byKey holds the messages
// already stored with one of the batch's event IDs; without it, a message
// whose event ID is taken is found after the insert skips it.
func insertMessages(ctx context.Context, c batcher, batch []*store.MessageCreate, infos map[string]*appInfo,
	byKey map[appKey]*hookline.Message, own, check bool) (bool, error) {
	// The messages to insert; an event ID seen earlier in the batch makes
	// a later item a repeat of the earlier one.
	var (
		fresh                                           []*store.MessageCreate
		ids, appCol, types, eventIDs, chans, ctypes, hs []pgtype.Text
		traceParents                                    []pgtype.Text
		payloads                                        [][]byte
		created                                         []time.Time
		firstOf                                         = map[appKey]*store.MessageCreate{}
		repeats                                         []*store.MessageCreate
	)
	for _, item := range batch {
		item.Err, item.Existing, item.Deliveries, item.Tasks = nil, false, nil, nil
		m := item.Message
		if _, ok := infos[m.AppID]; !ok {
			item.Err = fmt.Errorf("app %s: %w", m.AppID, hookline.ErrNotFound)
			continue
		}
		if m.EventID != "" {
			k := appKey{m.AppID, clean(m.EventID)}
			if ex := byKey[k]; ex != nil {
				cp := *ex
				item.Message, item.Existing = &cp, true
				continue
			}
			if firstOf[k] != nil {
				repeats = append(repeats, item)
				continue
			}
			firstOf[k] = item
		}
		fresh = append(fresh, item)
		ids = append(ids, textOrNull(m.ID))
		appCol = append(appCol, textOrNull(m.AppID))
		types = append(types, textOrNull(clean(m.EventType)))
		eventIDs = append(eventIDs, textOrNull(nullString(m.EventID)))
		chans = append(chans, textOrNull(jsonText(m.Channels)))
		payloads = append(payloads, []byte(m.Payload))
		ctypes = append(ctypes, textOrNull(nullString(m.ContentType)))
		hs = append(hs, textOrNull(jsonText(cleanHeaders(m.Headers))))
		created = append(created, m.CreatedAt.UTC())
		traceParents = append(traceParents, textOrNull(nullString(m.TraceParent)))
	}

	// Each delivery is leased to the caller where its item asks for it and
	// the lease has room, else pending (sqlstore.Leases.Deliver).
	var (
		dIDs, dApps, dMsgs, dEps []string
		dStatus                  []int
		dTimes, dNext            []time.Time
		leases                   sqlstore.Leases
		pending                  bool
	)
	for _, item := range fresh {
		m := item.Message
		app := infos[m.AppID]
		for i := range app.endpoints {
			ep := &app.endpoints[i]
			if !item.Accepts(ep) {
				continue
			}
			d, due, leased := leases.Deliver(item, ep, app.rate)
			pending = pending || !leased
			dIDs, dApps, dMsgs, dEps = append(dIDs, d.ID), append(dApps, d.AppID), append(dMsgs, d.MessageID), append(dEps, d.EndpointID)
			dStatus, dTimes, dNext = append(dStatus, int(d.Status)), append(dTimes, m.CreatedAt.UTC()), append(dNext, due.UTC())
		}
	}
	// Empty, not nil, arrays when nothing is checked: a NULL array has no
	// cardinality, and the insert would find the check failed.
	checkIDs, checkFPs := []string{}, []string{}
	if check {
		for id, a := range infos {
			checkIDs, checkFPs = append(checkIDs, id), append(checkFPs, a.fp)
		}
	}

	// The insert writes the messages and, in the same statement, the
	// deliveries of those it inserted. ON CONFLICT covers a message with
	// the same event ID committed by another node since it was looked for:
	// it is skipped, and so are its deliveries. The check counts the apps
	// whose fingerprint is unchanged, holding them FOR KEY SHARE, and
	// inserts nothing unless all are.
	b := &pgx.Batch{}
	if check && own {
		b.Queue(`BEGIN`)
	}
	if len(fresh) > 0 {
		b.Queue(`WITH ok AS (
				SELECT count(*) AS n FROM (
					SELECT a.id FROM apps a JOIN unnest($18::text[], $19::text[]) AS k(id, fp) ON a.id = k.id
					WHERE k.fp = `+appFingerprint+` FOR KEY SHARE OF a) AS same
			), m AS (
				INSERT INTO messages (`+messageCols+`)
				SELECT id, app, et, eid, ch::jsonb, p, ct, h::jsonb, c, tp
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::text[], $9::timestamptz[], $10::text[])
					AS u(id, app, et, eid, ch, p, ct, h, c, tp)
				WHERE (SELECT n FROM ok) = cardinality($18::text[])
				ON CONFLICT (app_id, event_id) WHERE event_id IS NOT NULL DO NOTHING RETURNING id
			), d AS (
				INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at)
				SELECT id, app, msg, ep, st, 0, 0, nx, c, c
				FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::int[], $16::timestamptz[], $17::timestamptz[])
					AS u(id, app, msg, ep, st, c, nx)
				WHERE msg IN (SELECT id FROM m)
			)
			SELECT (SELECT n FROM ok) = cardinality($18::text[]), coalesce(array_agg(id), '{}') FROM m`,
			ids, appCol, types, eventIDs, chans, payloads, ctypes, hs, created, traceParents,
			dIDs, dApps, dMsgs, dEps, dStatus, dTimes, dNext, checkIDs, checkFPs)
		if pending {
			// Deliveries leased to this node need no other node woken.
			b.Queue(`SELECT pg_notify('` + notifyChannel + `', current_schema())`)
		}
	}
	if own {
		b.Queue(`COMMIT`)
	}
	if b.Len() == 0 {
		return true, nil
	}
	var (
		inserted []string
		same     = true
	)
	br := c.SendBatch(ctx, b)
	if check && own {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return false, err
		}
	}
	if len(fresh) > 0 {
		if err := br.QueryRow().Scan(&same, &inserted); err != nil {
			br.Close()
			return false, fmt.Errorf("insert messages: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return false, fmt.Errorf("insert messages: %w", err)
	}
	if !same {
		return false, nil
	}
	if len(inserted) < len(fresh) {
		if err := raced(ctx, c, fresh, inserted); err != nil {
			return false, err
		}
	}
	for _, item := range repeats {
		first := firstOf[appKey{item.Message.AppID, clean(item.Message.EventID)}]
		cp := *first.Message
		item.Message, item.Existing = &cp, true
	}
	return true, nil
}

// raced marks the items of fresh that the insert skipped, because another
// node stored a message with the same event ID meanwhile, as repeats of it:
// they created no deliveries.
func raced(ctx context.Context, c batcher, fresh []*store.MessageCreate, inserted []string) error {
	ok := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		ok[id] = true
	}
	for _, item := range fresh {
		m := item.Message
		if ok[m.ID] {
			continue
		}
		ex, err := scanMessage(c.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE app_id = $1 AND event_id = $2`, m.AppID, clean(m.EventID)))
		if err != nil {
			return fmt.Errorf("find message with event ID %s: %w", m.EventID, err)
		}
		item.Message, item.Existing, item.Deliveries, item.Tasks = &ex, true, nil, nil
	}
	return nil
}

// cleanHeaders returns h with NULs replaced, for jsonb.
func cleanHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		c := make([]string, len(vs))
		for i, v := range vs {
			c[i] = clean(v)
		}
		out[clean(k)] = c
	}
	return out
}

// MessageGet finds a message by ID or event ID.
func (s *Store) MessageGet(ctx context.Context, appID, idOrEventID string) (*hookline.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE app_id = $1 AND (id = $2 OR event_id = $2) LIMIT 1`, appID, clean(idOrEventID)))
	if err != nil {
		return nil, notFound(err, "message "+idOrEventID)
	}
	return &m, nil
}

// messageWeight and attemptWeight are the weights of the rows of message
// and attempt lists: see sqlstore.Query.Weigh.
const (
	messageWeight = `octet_length(payload) + coalesce(pg_column_size(headers), 0)`
	attemptWeight = `octet_length(a.response) + coalesce(pg_column_size(a.response_headers), 0)`
)

// MessageList lists the messages of an app.
func (s *Store) MessageList(ctx context.Context, appID string, f store.MessageFilter) ([]hookline.Message, bool, error) {
	q := dialect.Query()
	q.MessageListConds(appID, f)
	q.Weigh(messageWeight)
	msgs, done, err := sqlstore.List(ctx, s.pool.Query, &q, messageCols, "messages", "id", f.Page, func(r pgx.Rows) (hookline.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list messages: %w", err)
	}
	return msgs, done, nil
}

const deliveryCols = `d.id, d.app_id, d.msg_id, d.endpoint_id, d.status, d.trigger_type, d.attempts, d.next_attempt, d.created_at, d.updated_at`

func deliveryDest(d *hookline.Delivery, next **time.Time) []any {
	return []any{&d.ID, &d.AppID, &d.MessageID, &d.EndpointID, &d.Status, &d.Trigger, &d.Attempts, next, &d.CreatedAt, &d.UpdatedAt}
}

// finishDelivery completes a scanned delivery. A delivery being sent shows
// no next attempt: its next_attempt is the end of a lease, not a schedule.
func finishDelivery(d *hookline.Delivery, next *time.Time) {
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	if next != nil && d.Status != hookline.StatusSending {
		d.NextAttempt = next.UTC()
	}
}

// DeliveryClaim leases due deliveries. The one UPDATE both picks and
// marks them; SKIP LOCKED lets nodes claiming at the same time pass over
// each other's picks instead of waiting for them, so each due delivery goes
// to one node.
func (s *Store) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	exclude := c.Exclude
	if exclude == nil {
		exclude = []string{}
	}
	// Due deliveries are taken endpoint by endpoint, each endpoint's oldest
	// first, and excluded endpoints are left out before any of their
	// deliveries is looked at: a claim costs the endpoints plus what it
	// takes, however large an excluded endpoint's backlog.
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.id FROM endpoints e
			CROSS JOIN LATERAL (
				SELECT id FROM deliveries
				WHERE endpoint_id = e.id AND next_attempt <= $1
				ORDER BY next_attempt LIMIT $3
				FOR UPDATE SKIP LOCKED) d
			WHERE NOT (e.id = ANY($2))
			LIMIT $3)
		UPDATE deliveries d SET status = $4, next_attempt = $5, updated_at = $1
		FROM due WHERE d.id = due.id
		RETURNING `+deliveryCols,
		c.Now.UTC(), exclude, max(c.Limit, 1), hookline.StatusSending, c.LeaseUntil.UTC())
	dels, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Delivery, error) {
		var (
			d    hookline.Delivery
			next *time.Time
		)
		err := r.Scan(deliveryDest(&d, &next)...)
		finishDelivery(&d, next)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(dels) == 0 {
		return nil, nil
	}
	slices.SortFunc(dels, func(a, b hookline.Delivery) int { return strings.Compare(a.ID, b.ID) })
	msgIDs, epIDs := sqlstore.ClaimedIDs(dels)
	// The claim is committed; its messages and endpoints come in one more
	// round trip. Each endpoint comes with its app's rate limit, the
	// default for endpoints without their own.
	b := &pgx.Batch{}
	b.Queue(`SELECT `+messageCols+` FROM messages WHERE id = ANY($1)`, msgIDs)
	b.Queue(`SELECT `+sqlstore.Prefixed("e.", endpointCols)+`, a.rate_limit FROM endpoints e JOIN apps a ON a.id = e.app_id WHERE e.id = ANY($1)`, epIDs)
	br := s.pool.SendBatch(ctx, b)
	rows, err = br.Query()
	msgs, err := sqlstore.Collect(rows, err, func(r pgx.Rows) (hookline.Message, error) { return scanMessage(r) })
	type endpointRate struct {
		ep   hookline.Endpoint
		rate *int
	}
	var eps []endpointRate
	if err == nil {
		rows, err = br.Query()
		eps, err = sqlstore.Collect(rows, err, func(r pgx.Rows) (endpointRate, error) {
			var appRate *int32
			ep, err := scanEndpoint(r, &appRate)
			return endpointRate{ep, ep.EffectiveRateLimit(intPtr(appRate))}, err
		})
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The deliveries stay claimed; their lease brings them back.
		return nil, fmt.Errorf("claim deliveries: read messages and endpoints: %w", err)
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
	tasks := make([]store.Task, len(dels))
	for i, d := range dels {
		tasks[i] = store.Task{Delivery: d, Message: msgByID[d.MessageID]}
		if er := epByID[d.EndpointID]; er != nil {
			tasks[i].Endpoint, tasks[i].RateLimit = &er.ep, er.rate
		}
	}
	return tasks, nil
}

// DeliveryFinish stores the results of claimed deliveries: every update
// and insert of the batch in one round trip and one transaction, whose
// commit does not wait for the WAL to reach the disk. Rows are locked in a
// fixed order, deliveries by ID and then endpoints by ID, so that nodes
// finishing at once cannot deadlock.
func (s *Store) DeliveryFinish(ctx context.Context, results []store.Result) error {
	if len(results) == 0 {
		return nil
	}
	results = slices.Clone(results)
	slices.SortStableFunc(results, func(a, b store.Result) int { return strings.Compare(a.Delivery.ID, b.Delivery.ID) })
	var (
		ids                     []string
		statuses, attemptCounts []int32
		nexts                   []pgtype.Timestamptz
		updated                 []time.Time
		atts                    attemptRows
	)
	var health sqlstore.Health
	for i, r := range results {
		d := r.Delivery
		// One UPDATE sets a row once: of a delivery's results in the
		// batch, the later one is its state. A superseded result sets
		// none.
		if i+1 < len(results) && results[i+1].Delivery.ID == d.ID || r.Superseded {
			if a := r.Attempt; a != nil {
				if err := atts.add(a); err != nil {
					return fmt.Errorf("finish deliveries: %w", err)
				}
			}
			health.Add(r)
			continue
		}
		ids = append(ids, d.ID)
		statuses = append(statuses, int32(d.Status))
		attemptCounts = append(attemptCounts, int32(d.Attempts))
		nexts = append(nexts, pgtype.Timestamptz{Time: d.NextAttempt.UTC(), Valid: !d.NextAttempt.IsZero()})
		updated = append(updated, d.UpdatedAt.UTC())
		if a := r.Attempt; a != nil {
			if err := atts.add(a); err != nil {
				return fmt.Errorf("finish deliveries: %w", err)
			}
		}
		health.Add(r)
	}
	err := s.pipeline(ctx, func(b *pgx.Batch) {
		// A result need not wait for the disk: one that a crash of the
		// database forgets leaves its delivery leased, to be sent again
		// when the lease lapses, as when a node dies before writing it.
		// Accepted messages always wait (MessageCreate).
		b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
		b.Queue(`UPDATE deliveries d SET status = u.status, attempts = u.attempts, next_attempt = u.next, updated_at = u.updated
			FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[], $5::timestamptz[]) AS u(id, status, attempts, next, updated)
			WHERE d.id = u.id AND d.status = `+sendingStatus, ids, statuses, attemptCounts, nexts, updated)
		if len(atts.id) > 0 {
			atts.queue(b, false)
		}
		epIDs := health.Endpoints()
		slices.Sort(epIDs)
		for _, id := range epIDs {
			queueHealth(b, id, health.Endpoint(id))
		}
	})
	if err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	return nil
}

// attemptRows holds attempts as the columns of a multi-row insert.
type attemptRows struct {
	id, deliveryID, appID, msgID, endpointID, url []string
	status, trigger, code                         []int32
	headers                                       []pgtype.Text
	response, errText                             []string
	duration                                      []int64
	created                                       []time.Time
}

func (r *attemptRows) add(a *hookline.Attempt) error {
	var hdrs pgtype.Text
	if a.ResponseHeaders != nil {
		b, err := json.Marshal(cleanHeaders(a.ResponseHeaders))
		if err != nil {
			return err
		}
		hdrs = pgtype.Text{String: strings.ReplaceAll(string(b), `\u0000`, `\ufffd`), Valid: true}
	}
	r.id, r.deliveryID, r.appID = append(r.id, a.ID), append(r.deliveryID, a.DeliveryID), append(r.appID, a.AppID)
	r.msgID, r.endpointID, r.url = append(r.msgID, a.MessageID), append(r.endpointID, a.EndpointID), append(r.url, clean(a.URL))
	r.status, r.trigger, r.code = append(r.status, int32(a.Status)), append(r.trigger, int32(a.Trigger)), append(r.code, int32(a.StatusCode))
	r.headers, r.response, r.errText = append(r.headers, hdrs), append(r.response, clean(a.Response)), append(r.errText, clean(a.Error))
	r.duration, r.created = append(r.duration, a.Duration.Microseconds()), append(r.created, a.CreatedAt.UTC())
	return nil
}

// queue adds the insert of the attempts to b; keep leaves existing rows as
// they are, for a copy run again.
func (r *attemptRows) queue(b *pgx.Batch, keep bool) {
	conflict := ""
	if keep {
		conflict = " ON CONFLICT DO NOTHING"
	}
	b.Queue(`INSERT INTO attempts (id, delivery_id, app_id, msg_id, endpoint_id, url, status, trigger_type,
			status_code, response_headers, response, duration_us, error, created_at)
		SELECT id, dl, app, msg, ep, url, st, tr, code, h::jsonb, resp, dur, err, c
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::int[],
			$10::text[], $11::text[], $12::bigint[], $13::text[], $14::timestamptz[])
			AS u(id, dl, app, msg, ep, url, st, tr, code, h, resp, dur, err, c)`+conflict,
		r.id, r.deliveryID, r.appID, r.msgID, r.endpointID, r.url, r.status, r.trigger, r.code,
		r.headers, r.response, r.duration, r.errText, r.created)
}

// queueHealth adds the updates of endpoint id's health to b. Each is
// conditional, so that the common case, a healthy endpoint staying
// healthy, writes and locks nothing: endpoints are shared by every node.
func queueHealth(b *pgx.Batch, id string, h *sqlstore.EndpointHealth) {
	switch change, since := h.Change(); change {
	case sqlstore.HealthOK:
		b.Queue(`UPDATE endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, id)
	case sqlstore.HealthFailing:
		b.Queue(`UPDATE endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL`, since.UTC(), id)
	}
	if h.Disable != "" {
		b.Queue(`UPDATE endpoints SET disabled = true, disabled_reason = $1 WHERE id = $2`, clean(h.Disable), id)
	}
}

// DeliveryRelease returns claimed deliveries to pending, due at once.
func (s *Store) DeliveryRelease(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Due at the Unix epoch: before any claim's "now", whatever clock
		// it uses.
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET status = $1, next_attempt = 'epoch' WHERE status = $2 AND id = ANY($3)`,
			hookline.StatusPending, hookline.StatusSending, ids)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return notify(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	return nil
}

// DeliveryCreate queues a message for an endpoint again.
func (s *Store) DeliveryCreate(ctx context.Context, d *hookline.Delivery) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE id = $1 AND app_id = $3) + (SELECT count(*) FROM endpoints WHERE id = $2 AND app_id = $3)`,
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
		err = tx.QueryRow(ctx, `INSERT INTO deliveries (id, app_id, msg_id, endpoint_id, status, trigger_type, attempts, next_attempt, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)
			ON CONFLICT (msg_id, endpoint_id) DO UPDATE SET status = excluded.status, trigger_type = excluded.trigger_type,
				attempts = 0, next_attempt = excluded.next_attempt, updated_at = excluded.updated_at
			RETURNING id`,
			d.ID, d.AppID, d.MessageID, d.EndpointID, d.Status, d.Trigger, timePtr(&d.NextAttempt), d.CreatedAt.UTC(), d.UpdatedAt.UTC(),
		).Scan(&d.ID)
		if err != nil {
			return err
		}
		return notify(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("create delivery: %w", err)
	}
	return nil
}

// DeliveryRecover requeues the failed deliveries of an endpoint.
func (s *Store) DeliveryRecover(ctx context.Context, appID, endpointID string, w store.Window, now time.Time) (int, error) {
	q := dialect.Query()
	q.Add("status = ?", hookline.StatusFail)
	q.Add("app_id = ?", appID)
	q.Add("endpoint_id = ?", endpointID)
	q.Window("created_at", w)
	n := len(q.Args())
	args := append(q.Args(), hookline.StatusPending, hookline.TriggerManual, now.UTC())
	var count int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE deliveries SET status = $%d, trigger_type = $%d, attempts = 0, next_attempt = $%d, updated_at = $%d
			WHERE %s`, n+1, n+2, n+3, n+3, q.Where()), args...)
		if err != nil {
			return err
		}
		count = tag.RowsAffected()
		if count == 0 {
			return nil
		}
		return notify(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("recover deliveries: %w", err)
	}
	return int(count), nil
}

const attemptCols = `a.id, a.delivery_id, a.app_id, a.msg_id, a.endpoint_id, a.url, a.status, a.trigger_type, a.status_code,
	a.response_headers, a.response, a.duration_us, a.error, a.created_at`

func scanAttempt(r scanner) (hookline.Attempt, error) {
	var (
		a    hookline.Attempt
		hdrs []byte
		dur  int64
	)
	err := r.Scan(&a.ID, &a.DeliveryID, &a.AppID, &a.MessageID, &a.EndpointID, &a.URL, &a.Status, &a.Trigger, &a.StatusCode,
		&hdrs, &a.Response, &dur, &a.Error, &a.CreatedAt)
	if err != nil {
		return a, err
	}
	a.Duration, a.CreatedAt = time.Duration(dur)*time.Microsecond, a.CreatedAt.UTC()
	a.ResponseHeaders, err = sqlstore.ParseJSON[map[string][]string](hdrs)
	return a, err
}

// AttemptList lists attempts by message or by endpoint.
func (s *Store) AttemptList(ctx context.Context, appID string, f store.AttemptFilter) ([]hookline.Attempt, bool, error) {
	q := dialect.Query()
	q.AttemptConds(appID, f)
	q.Weigh(attemptWeight)
	atts, done, err := sqlstore.List(ctx, s.pool.Query, &q, attemptCols, "attempts a", "a.id", f.Page, func(r pgx.Rows) (hookline.Attempt, error) { return scanAttempt(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list attempts: %w", err)
	}
	return atts, done, nil
}

// AttemptGet finds one attempt of a message.
func (s *Store) AttemptGet(ctx context.Context, appID, msgID, attemptID string) (*hookline.Attempt, error) {
	a, err := scanAttempt(s.pool.QueryRow(ctx, `SELECT `+attemptCols+` FROM attempts a WHERE a.id = $1 AND a.app_id = $2 AND a.msg_id = $3`, attemptID, appID, msgID))
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
	out, done, err := sqlstore.List(ctx, s.pool.Query, &q, sqlstore.Prefixed("e.", endpointCols)+", "+deliveryCols, "deliveries d JOIN endpoints e ON e.id = d.endpoint_id", "e.id", p, func(r pgx.Rows) (store.EndpointStatus, error) {
		var (
			es   store.EndpointStatus
			next *time.Time
		)
		var err error
		es.Endpoint, err = scanEndpoint(r, deliveryDest(&es.Delivery, &next)...)
		finishDelivery(&es.Delivery, next)
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
	q.Weigh(`octet_length(m.payload) + coalesce(pg_column_size(m.headers), 0)`)
	out, done, err := sqlstore.List(ctx, s.pool.Query, &q, sqlstore.Prefixed("m.", messageCols)+", "+deliveryCols, "deliveries d JOIN messages m ON m.id = d.msg_id", "m.id", f.Page, func(r pgx.Rows) (store.MessageStatus, error) {
		var (
			ms   store.MessageStatus
			next *time.Time
			err  error
		)
		ms.Message, err = scanMessage(r, deliveryDest(&ms.Delivery, &next)...)
		finishDelivery(&ms.Delivery, next)
		return ms, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list endpoint messages: %w", err)
	}
	return out, done, nil
}
