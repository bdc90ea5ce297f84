package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/internal/store"
)

// GaugesRead reads the pending deliveries in one pass over the partial
// index that holds them alone (deliveries_endpoint_due, which the claims
// walk), and counts the disabled endpoints over theirs
// (endpoints_disabled).
func (s *Store) GaugesRead(ctx context.Context) (store.Gauges, error) {
	var (
		g   store.Gauges
		due *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT p.n, p.due, (SELECT count(*) FROM endpoints WHERE disabled)
		FROM (SELECT count(*) AS n, min(next_attempt) AS due FROM deliveries WHERE next_attempt IS NOT NULL) p`).Scan(&g.Pending, &due, &g.EndpointsDisabled)
	if err != nil {
		return store.Gauges{}, fmt.Errorf("read gauges: %w", fault(err))
	}
	if due != nil {
		g.OldestDue = due.UTC()
	}
	return g, nil
}

var _ store.Gauger = (*Store)(nil)
