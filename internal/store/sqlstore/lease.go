package sqlstore

import "github.com/hookline/hookline/internal/store"

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
