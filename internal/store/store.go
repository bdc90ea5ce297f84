// Package store defines the durable state of hookline behind one interface,
// Store, that every database adapter implements (sqlite/ and, later,
// postgres/). The conformance suite in storetest/ holds each adapter to the
// same behaviour.
//
// The database is the queue: the REST API writes messages and their
// deliveries; the dispatcher claims due deliveries with a lease, sends them
// and writes the results back, all through this interface.
package store

import (
	"context"
	"time"

	"github.com/hookline/hookline"
)

// MaxLimit is the largest page a list returns.
const MaxLimit = 250

// MaxPageBytes is how many bytes of bodies, payloads and responses one
// page of a list that holds them (messages, attempts, received requests)
// carries at most, unless Page.MaxBytes says otherwise. A page ends before
// the item that would take it past the cap, so it may hold fewer items
// than its limit, but it always holds one: the cap bounds what one list
// call loads, however large the stored bodies.
const MaxPageBytes = 8 << 20

// Page selects one page of a list ordered by ID. IDs sort by creation time,
// so ID order is creation order.
type Page struct {
	// Limit is the most items to return, 1 to MaxLimit.
	Limit int
	// Iterator, when set, is the ID the page starts after (exclusive), in
	// the list's direction.
	Iterator string
	// Prev walks backwards from Iterator: the page holds the items just
	// before it, still returned in the list's direction.
	Prev bool
	// Desc lists newest first.
	Desc bool
	// MaxBytes caps the bytes of bodies, payloads and responses on the
	// page, for the lists that hold them; 0 means MaxPageBytes. A page cut
	// short by it is not done.
	MaxBytes int64
}

// Window restricts a list to items created in a time range.
type Window struct {
	Before *time.Time // created strictly before
	After  *time.Time // created strictly after
}

// MessageFilter selects messages of one app.
type MessageFilter struct {
	Page
	Window
	EventTypes []string // any of these; empty means all
	Channel    string   // messages with this channel; empty means all
}

// AttemptFilter selects attempts of one app, by message or by endpoint.
type AttemptFilter struct {
	Page
	Window
	MessageID  string
	EndpointID string
	Status     *hookline.Status
	// StatusCodeClass is 0 for any, 1 for attempts with no response, else
	// the hundreds of the response code: 200, 300, 400 or 500.
	StatusCodeClass int
	EventTypes      []string
	Channel         string
}

// EndpointMessageFilter selects the deliveries of one endpoint.
type EndpointMessageFilter struct {
	Page
	Window
	Status     *hookline.Status
	EventTypes []string
	Channel    string
}

// MessageCreate is one message to publish, an item of a batch. The store
// fills in the result fields.
type MessageCreate struct {
	Message *hookline.Message
	// Endpoint, when set, is the ID of the one endpoint of the message's
	// app to deliver it to, if enabled, whatever event types and channels
	// it subscribes to, such as for an example sent from the portal.
	Endpoint string
	// Lease, when not nil, has the store lease the deliveries it creates
	// to the caller, as a claim would, and return them in Tasks, so that
	// they go out without being claimed back first. The items of a batch
	// share one Lease.
	Lease *Lease
	// Deliveries are the deliveries created, one per accepting endpoint.
	Deliveries []hookline.Delivery
	// Tasks are the created deliveries the store leased under Lease, with
	// what it takes to send them; the rest of Deliveries are pending.
	Tasks []Task
	// Existing is true when a message with the same EventID already
	// existed; Message then holds that message and nothing was created.
	Existing bool
	// Err is this item's own failure, such as hookline.ErrNotFound for an
	// app that does not exist; the rest of the batch is unaffected.
	Err error
}

// Accepts reports whether the message goes to endpoint e.
func (mc *MessageCreate) Accepts(e *hookline.Endpoint) bool {
	if mc.Endpoint != "" {
		return e.ID == mc.Endpoint && !e.Disabled
	}
	return e.Accepts(mc.Message.EventType, mc.Message.Channels)
}

// Claim asks for due deliveries.
type Claim struct {
	Now   time.Time
	Limit int
	// LeaseUntil is when the claim lapses: a delivery still unfinished
	// then is due again, so another claim (after a crash) picks it up.
	LeaseUntil time.Time
	// Exclude lists endpoint IDs whose deliveries are not to be claimed
	// now, such as endpoints whose local queue is full.
	Exclude []string
}

// Lease is a claim made at publish time, on deliveries not created yet.
type Lease struct {
	// Until is when the lease lapses, as Claim.LeaseUntil.
	Until time.Time
	// Limit is the most deliveries to lease over the whole batch; the
	// rest are created pending.
	Limit int
	// Exclude lists endpoint IDs whose deliveries are created pending, as
	// Claim.Exclude.
	Exclude []string
}

// Task is a claimed delivery with what it takes to send it.
type Task struct {
	Delivery hookline.Delivery
	Message  *hookline.Message
	Endpoint *hookline.Endpoint
	// RateLimit is the endpoint's effective limit in deliveries per
	// second: its own, else its app's; nil for none.
	RateLimit *int
}

// Result is the outcome of working one claimed delivery.
type Result struct {
	Delivery hookline.Delivery // ID, AppID, EndpointID, Status, Attempts, NextAttempt as they are to be stored
	// Attempt is the request made, nil when none was (the endpoint was
	// deleted or disabled meanwhile).
	Attempt *hookline.Attempt
	// DisableEndpoint, when not empty, disables the endpoint with this
	// reason (such as 410 Gone, or failing for too long).
	DisableEndpoint string
	// Superseded is set when the delivery was queued again (a resend)
	// while this attempt was in flight: only the attempt is stored, and
	// the delivery keeps its new state, to be sent again.
	Superseded bool
}

// EndpointStatus is an endpoint a message was sent to, with the state of
// that delivery.
type EndpointStatus struct {
	Endpoint hookline.Endpoint
	Delivery hookline.Delivery
}

// MessageStatus is a message sent to an endpoint, with the state of that
// delivery.
type MessageStatus struct {
	Message  hookline.Message
	Delivery hookline.Delivery
}

// IdempotentResponse is a response saved under an idempotency key, replayed
// to a client that repeats the request with the same key.
type IdempotentResponse struct {
	Status int
	Body   []byte
}

// Store is hookline's durable state. Each method is one transaction.
// Lookups of a missing resource return hookline.ErrNotFound; writes that
// collide with an existing uid or name return hookline.ErrConflict. A write
// refused for want of space returns an error of kind hookline.ErrStorageFull,
// and any call made while the database cannot be reached one of kind
// hookline.ErrUnavailable, so that callers can tell these from a bug.
type Store interface {
	AppCreate(ctx context.Context, a *hookline.App) error
	// AppGet finds an app by ID or uid.
	AppGet(ctx context.Context, idOrUID string) (*hookline.App, error)
	AppList(ctx context.Context, p Page) (apps []hookline.App, done bool, err error)
	AppUpdate(ctx context.Context, a *hookline.App) error
	// AppDelete deletes an app with its endpoints, messages and attempts.
	AppDelete(ctx context.Context, id string) error

	EventTypeCreate(ctx context.Context, e *hookline.EventType) error
	EventTypeGet(ctx context.Context, name string) (*hookline.EventType, error)
	EventTypeList(ctx context.Context, p Page, includeArchived bool) (types []hookline.EventType, done bool, err error)
	EventTypeUpdate(ctx context.Context, e *hookline.EventType) error
	EventTypeDelete(ctx context.Context, name string) error

	EndpointCreate(ctx context.Context, e *hookline.Endpoint) error
	// EndpointGet finds an endpoint of an app by ID or uid.
	EndpointGet(ctx context.Context, appID, idOrUID string) (*hookline.Endpoint, error)
	EndpointList(ctx context.Context, appID string, p Page) (eps []hookline.Endpoint, done bool, err error)
	// EndpointUpdate stores every field of e, secrets and headers too.
	EndpointUpdate(ctx context.Context, e *hookline.Endpoint) error
	EndpointDelete(ctx context.Context, appID, id string) error

	// MessageCreate stores a batch of messages, each with one pending
	// delivery per endpoint of its app that accepts it, in one
	// transaction: when it returns nil, every item without Err is durable.
	// The deliveries of items with a Lease are leased instead, within the
	// lease's limit and exclusions, and returned as Tasks.
	MessageCreate(ctx context.Context, batch []*MessageCreate) error
	// MessageGet finds a message by ID or event ID.
	MessageGet(ctx context.Context, appID, idOrEventID string) (*hookline.Message, error)
	MessageList(ctx context.Context, appID string, f MessageFilter) (msgs []hookline.Message, done bool, err error)

	// DeliveryClaim leases up to c.Limit due deliveries and marks them
	// sending. Each endpoint's deliveries come oldest due first; which
	// endpoints a claim serves first is the store's choice. The deliveries
	// of excluded endpoints must cost a claim little to skip, however many
	// are due.
	DeliveryClaim(ctx context.Context, c Claim) ([]Task, error)
	// DeliveryFinish stores the results of claimed deliveries: the attempts,
	// the deliveries' new state, and the endpoints' health.
	DeliveryFinish(ctx context.Context, results []Result) error
	// DeliveryRelease returns claimed deliveries, unsent, to pending and due
	// now, such as on shutdown.
	DeliveryRelease(ctx context.Context, ids []string) error
	// DeliveryCreate queues a message for an endpoint again (a resend):
	// the one delivery of that message to that endpoint is reset to d's
	// status, trigger and due time with its attempt count at zero, or
	// created if there was none. d.ID is set to the delivery's ID.
	DeliveryCreate(ctx context.Context, d *hookline.Delivery) error
	// DeliveryRecover requeues, as manual deliveries due now with a fresh
	// schedule, every delivery to an endpoint that failed and was created in
	// the window; it returns how many.
	DeliveryRecover(ctx context.Context, appID, endpointID string, w Window, now time.Time) (int, error)

	AttemptList(ctx context.Context, appID string, f AttemptFilter) (attempts []hookline.Attempt, done bool, err error)
	AttemptGet(ctx context.Context, appID, msgID, attemptID string) (*hookline.Attempt, error)
	// MessageEndpointList lists the endpoints a message was sent to.
	MessageEndpointList(ctx context.Context, appID, msgID string, p Page) (eps []EndpointStatus, done bool, err error)
	// EndpointMessageList lists the messages sent to an endpoint.
	EndpointMessageList(ctx context.Context, appID, endpointID string, f EndpointMessageFilter) (msgs []MessageStatus, done bool, err error)

	// IdempotencyBegin reserves key. It returns the saved response if the
	// key was used before and finished, hookline.ErrConflict if a request
	// with the key is still in progress, and (nil, nil) if the caller now
	// holds the key and must call IdempotencyEnd.
	IdempotencyBegin(ctx context.Context, key string, now time.Time) (*IdempotentResponse, error)
	// IdempotencyEnd saves the response for key; a nil response releases
	// the key unused (the request failed and may be retried).
	IdempotencyEnd(ctx context.Context, key string, resp *IdempotentResponse) error

	// SettingGet returns a server setting, such as the admin token's hash;
	// hookline.ErrNotFound if unset.
	SettingGet(ctx context.Context, key string) (string, error)
	// SettingPut sets a server setting.
	SettingPut(ctx context.Context, key, value string) error
	// SettingInit sets a server setting unless it is set already, and
	// returns the value it holds now: value if this call set it, else the
	// value set before. Nodes starting at once on a new database settle
	// on one value this way, such as the generated admin token's hash.
	SettingInit(ctx context.Context, key, value string) (stored string, err error)

	AccessStore

	Close() error
}

// The interfaces below are capabilities beyond Store. The wiring finds them
// by type assertion, as database/sql finds a driver's optional interfaces,
// so that the API and the dispatcher stay unaware of which database runs
// underneath and of how many nodes share it.

// Notifier is a store that tells other processes sharing the database when
// work was committed: deliveries published, resent, recovered or released.
// PostgreSQL does this with LISTEN/NOTIFY; SQLite serves one process and
// has no need.
type Notifier interface {
	// Listen calls wake each time another process (or this one) commits
	// new due deliveries, until ctx ends; it then returns ctx's error. It
	// reconnects by itself after a lost connection and calls wake once
	// reconnected, since notifications sent meanwhile are lost.
	Listen(ctx context.Context, wake func()) error
}

// Maintainer is the upkeep a store needs now and then, done by one node of
// a cluster at a time (the one TryLead elects). Every method works in
// bounded steps so that it never holds up publishing or delivery for long.
// Both adapters implement it; the conformance suite tests it.
type Maintainer interface {
	// TryLead tries to become, or to stay, the node that does the upkeep,
	// and reports whether this process is it. A process that stops
	// calling it, or dies, loses the role to another within moments.
	TryLead(ctx context.Context) (bool, error)
	// EndpointDisableFailing disables, with reason, every enabled endpoint
	// whose FailingSince is before failingBefore: those failing for too
	// long even when none of their deliveries is being tried now. It
	// returns the endpoints it disabled, with their ID, AppID, UID,
	// FailingSince, Disabled and DisabledReason set and no other field.
	EndpointDisableFailing(ctx context.Context, failingBefore time.Time, reason string) ([]hookline.Endpoint, error)
	// RetentionPrune empties, in one short transaction, the payloads of up
	// to limit messages created before the cutoff (they become {}) and the
	// response bodies and headers of up to limit attempts created before
	// it. A message with a delivery still due keeps its payload. The
	// messages, deliveries and attempts themselves remain. It returns how
	// many rows it changed; fewer than 2×limit means it has caught up.
	RetentionPrune(ctx context.Context, before time.Time, limit int) (int, error)
	// IdempotencyExpire deletes up to limit idempotency keys whose replay
	// window has passed at now, and returns how many.
	IdempotencyExpire(ctx context.Context, now time.Time, limit int) (int, error)
	// TokenPrune deletes up to limit tokens that expired or were revoked
	// before the cutoff, and returns how many: portal accesses make a
	// token each, which would otherwise pile up.
	TokenPrune(ctx context.Context, before time.Time, limit int) (int, error)
}

// LazyFinisher is a Store that can write results in the next transaction
// begun for other writes, such as a publish's, instead of one of their
// own: at everyday rates that spares the writer a transaction per result.
// It waits up to wait for one to begin; results are never lost by waiting,
// only their deliveries stay leased a little longer.
type LazyFinisher interface {
	DeliveryFinishLazy(ctx context.Context, results []Result, wait time.Duration) error
}

// Checker is a store that can say whether it can take work now, for a
// readiness probe. Both adapters implement it.
type Checker interface {
	// Ping reaches the database with a cheap query that writes nothing and
	// does not wait for writes in progress. Its errors are of the kinds
	// hookline.ErrUnavailable or hookline.ErrStorageFull where they apply.
	Ping(ctx context.Context) error
	// WriteFault returns the last write refused for want of space (an error
	// of kind hookline.ErrStorageFull) and when it was refused, unless a
	// write has succeeded since; a zero time and nil if there is none.
	WriteFault() (time.Time, error)
}

// Gauges are counts of what the store holds now, for metrics.
type Gauges struct {
	// Pending counts the deliveries not finished: waiting for their first
	// attempt or a retry, or claimed and being sent.
	Pending int64
	// OldestDue is the earliest time a pending delivery is due: its first
	// attempt's or retry's time, or its claim's lease end while it is
	// being sent. Zero when nothing is pending.
	OldestDue time.Time
	// EndpointsDisabled counts the disabled endpoints.
	EndpointsDisabled int64
}

// Gauger is a store that reads its Gauges through indexes, cheaply enough
// to answer a metrics scrape every few seconds whatever the history
// holds: the work grows with the pending deliveries and the disabled
// endpoints, not with every delivery ever made. Both adapters implement it.
type Gauger interface {
	GaugesRead(ctx context.Context) (Gauges, error)
}

// MessageFinder is a store that finds messages across apps, through the
// index on their IDs. Both adapters implement it.
type MessageFinder interface {
	// MessageFind finds a message by ID, in any app.
	MessageFind(ctx context.Context, id string) (*hookline.Message, error)
	// MessageListAll lists the messages of every app; f's filters other
	// than its window are tested row by row.
	MessageListAll(ctx context.Context, f MessageFilter) (msgs []hookline.Message, done bool, err error)
}

// TroubleLister is a store that lists, across apps and through partial
// indexes, the endpoints in trouble: failing (oldest failure first) and
// disabled (newest first). Both adapters implement it.
type TroubleLister interface {
	EndpointTroubleList(ctx context.Context, limit int) (failing, disabled []hookline.Endpoint, err error)
}

// Sizer is a store that can say how much disk its data takes and settle
// its tables after a bulk load, for measuring how its costs grow with
// what it holds. Both adapters implement it.
type Sizer interface {
	// DiskSize returns the bytes the store's data takes on disk: for
	// SQLite the database file and its write-ahead log, for PostgreSQL its
	// tables with their indexes and TOAST in the store's schema.
	DiskSize(ctx context.Context) (int64, error)
	// Settle leaves the tables after a bulk load as use would: on
	// PostgreSQL vacuumed, with the planner's statistics gathered and the
	// pages this dirtied written, as autovacuum and the checkpointer do
	// over the next minutes; SQLite needs none of it, so there it does
	// nothing.
	Settle(ctx context.Context) error
}

// NodeInfo is a node of a cluster as the store knows it.
type NodeInfo struct {
	Node
	StartedAt, SeenAt time.Time
	// Leader is set for the node that leads the upkeep.
	Leader bool
}

// NodeLister is a store shared by a cluster that lists its live nodes.
// The PostgreSQL adapter implements it.
type NodeLister interface {
	NodeList(ctx context.Context) ([]NodeInfo, error)
}

// Node is a hookline process that takes part in a cluster.
type Node struct {
	ID string
	// Worker is true for a node that delivers (role worker or all).
	Worker bool
}

// Cluster is a store shared by several processes, which keep track of
// each other through it: each beats a heartbeat, and one that stops
// beating drops out.
type Cluster interface {
	// NodeBeat records that n is alive at now, forgets nodes silent for
	// longer than ttl, and returns how many worker nodes are alive, n
	// included if it is one.
	NodeBeat(ctx context.Context, n Node, now time.Time, ttl time.Duration) (workers int, err error)
	// NodeLeave forgets n at once, on a clean shutdown.
	NodeLeave(ctx context.Context, id string) error
}

// Record is one row of an installation, as Copier moves it between stores.
// Exactly one field is set.
type Record struct {
	App       *hookline.App
	EventType *hookline.EventType
	Endpoint  *hookline.Endpoint
	Message   *hookline.Message
	// Delivery is copied with its state. Its NextAttempt is the stored due
	// time, for a delivery being sent the end of its lease.
	Delivery *hookline.Delivery
	Attempt  *hookline.Attempt
	Setting  *Setting
	Source   *hookline.Source
	// Cursor follows its source's record when the source's held requests
	// were acknowledged.
	Cursor   *SourceCursor
	Received *hookline.Received
	// Run is copied with its state. Its NextAttempt is the stored due
	// time, for a running one the end of its lease.
	Run *hookline.Run
	// Token is an API token, copied with its hash and state.
	Token *hookline.Token
}

// Kind names the kind of record r holds, in words ("app", "event type",
// "received", ...), for counting the records of a copy; it is "" for an
// empty record.
func (r Record) Kind() string {
	switch {
	case r.App != nil:
		return "app"
	case r.EventType != nil:
		return "event type"
	case r.Endpoint != nil:
		return "endpoint"
	case r.Message != nil:
		return "message"
	case r.Delivery != nil:
		return "delivery"
	case r.Attempt != nil:
		return "attempt"
	case r.Setting != nil:
		return "setting"
	case r.Source != nil:
		return "source"
	case r.Cursor != nil:
		return "cursor"
	case r.Received != nil:
		return "received"
	case r.Run != nil:
		return "run"
	case r.Token != nil:
		return "token"
	}
	return ""
}

// Setting is a server setting, such as the admin token's hash.
type Setting struct {
	Key, Value string
}

// SourceCursor is how far a source's held requests were acknowledged: up
// to and including ReceivedID.
type SourceCursor struct {
	SourceID, ReceivedID string
}

// Copier is a store that can hand over its whole content to another store
// and take one over, for `hookline db copy`. Idempotency keys, cluster
// nodes and login codes, which live only minutes, are not copied.
type Copier interface {
	// Dump calls fn with every record, in the order Load wants them: apps,
	// event types, endpoints, messages, deliveries, attempts, settings,
	// sources (each followed by its cursor), received requests, command
	// runs, tokens. It reads in pages, so it holds neither the whole store in
	// memory nor one long transaction.
	Dump(ctx context.Context, fn func(Record) error) error
	// Load stores records in one transaction, keeping their IDs, times and
	// state. A record whose key exists already is left as it is, so a
	// copy that was cut off can be run again.
	Load(ctx context.Context, recs []Record) error
}
