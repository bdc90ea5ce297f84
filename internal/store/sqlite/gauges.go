package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookline/hookline/internal/store"
)

// gaugesSQL reads the pending deliveries in one pass over the partial
// index that holds them alone (deliveries_endpoint_due, which the claims
// walk), and counts the disabled endpoints over theirs
// (endpoints_disabled). No index on deliveries is added for it: every
// publish would write one more.
var gaugesSQL = `SELECT p.n, p.due, (SELECT count(*) FROM endpoints WHERE disabled = 1)
	FROM (SELECT count(*) AS n, min(next_attempt) AS due FROM deliveries WHERE next_attempt IS NOT NULL) p`

// GaugesRead reads the store's gauges on a reader, which waits for no
// write.
func (s *Store) GaugesRead(ctx context.Context) (store.Gauges, error) {
	var (
		g   store.Gauges
		due sql.NullInt64
	)
	if err := s.r.QueryRowContext(ctx, gaugesSQL).Scan(&g.Pending, &due, &g.EndpointsDisabled); err != nil {
		return store.Gauges{}, fmt.Errorf("read gauges: %w", fault(err))
	}
	if due.Valid {
		g.OldestDue = fromMicro(due.Int64)
	}
	return g, nil
}

var _ store.Gauger = (*Store)(nil)
