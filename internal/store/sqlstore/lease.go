package sqlstore

import (
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Leases counts what the leases of a publish batch (store.Lease) have taken,
// so that each stays within its limit and leaves out its excluded
// endpoints. The zero Leases is empty and ready.
type Leases struct {
	taken   map[*store.Lease]int
	exclude map[*store.Lease]map[string]bool
}

// Take reports whether l leases a new delivery to endpointID, and counts
// it if so. A nil l leases nothing.
func (b *Leases) Take(l *store.Lease, endpointID string) bool {
	if l == nil || b.taken[l] >= l.Limit {
		return false
	}
	if b.taken == nil {
		b.taken, b.exclude = map[*store.Lease]int{}, map[*store.Lease]map[string]bool{}
	}
	ex, ok := b.exclude[l]
	if !ok {
		ex = make(map[string]bool, len(l.Exclude))
		for _, id := range l.Exclude {
			ex[id] = true
		}
		b.exclude[l] = ex
	}
	if ex[endpointID] {
		return false
	}
	b.taken[l]++
	return true
}

// Deliver creates item's delivery to ep, one of the endpoints of the app
// (whose rate limit is appRate) that accept item's message, and adds it to
// item.Deliveries. Under item's lease, while it has room, the delivery is
// leased as a claim leaves it: sending, due again when the lease lapses,
// and added to item.Tasks ready to send. Otherwise it is pending and due
// at once. due is when the store makes it due.
func (b *Leases) Deliver(item *store.MessageCreate, ep *hookline.Endpoint, appRate *int) (d hookline.Delivery, due time.Time, leased bool) {
	m := item.Message
	d = hookline.Delivery{
		ID: hookline.NewID(hookline.PrefixDelivery), AppID: m.AppID, MessageID: m.ID, EndpointID: ep.ID,
		Status: hookline.StatusPending, NextAttempt: m.CreatedAt, CreatedAt: m.CreatedAt, UpdatedAt: m.CreatedAt,
	}
	due = m.CreatedAt
	if leased = b.Take(item.Lease, ep.ID); leased {
		d.Status, d.NextAttempt, due = hookline.StatusSending, time.Time{}, item.Lease.Until
		item.Tasks = append(item.Tasks, store.Task{Delivery: d, Message: m, Endpoint: ep, RateLimit: ep.EffectiveRateLimit(appRate)})
	}
	item.Deliveries = append(item.Deliveries, d)
	return d, due, leased
}
