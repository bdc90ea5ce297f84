package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// countingConn is a connection that counts the statement batches, the
// round trips, sent through it.
type countingConn struct {
	*pgx.Conn
	batches int
}

func (c *countingConn) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c.batches++
	return c.Conn.SendBatch(ctx, b)
}

// TestPublishRoundTrips checks that a publish to an app it has read before
// takes one round trip, and that a change to the app or its endpoints made
// through another node is seen by the next publish: its check fails,
// nothing is stored by it, and the app is read again.
func TestPublishRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.URL(t)
	s, err := Open(ctx, u, Options{})
	pgtest.Must(t, err)
	t.Cleanup(func() { s.Close() })
	other, err := Open(ctx, u, Options{})
	pgtest.Must(t, err)
	t.Cleanup(func() { other.Close() })

	now := time.Now().UTC()
	app := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), Name: "a", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	pgtest.Must(t, other.AppCreate(ctx, app))
	endpoint := func() *hookline.Endpoint {
		return &hookline.Endpoint{ID: hookline.NewID(hookline.PrefixEndpoint), AppID: app.ID, URL: "https://example.com/", Version: 1,
			Format: hookline.FormatJSON, Secrets: []hookline.Secret{{Key: []byte("0123456789abcdef01234567")}}, CreatedAt: now, UpdatedAt: now}
	}
	first := endpoint()
	pgtest.Must(t, other.EndpointCreate(ctx, first))

	pc, err := s.pool.Pool.Acquire(ctx)
	pgtest.Must(t, err)
	defer pc.Release()
	conn := &countingConn{Conn: pc.Conn()}
	// publish stores one message through conn and returns the endpoints
	// it was delivered to and the round trips it took.
	publish := func() ([]string, int, error) {
		item := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: app.ID,
			EventType: "x", Payload: json.RawMessage(`{}`), CreatedAt: time.Now().UTC()}}
		conn.batches = 0
		if err := createMessages(ctx, conn, []*store.MessageCreate{item}, true, &s.apps); err != nil {
			return nil, conn.batches, err
		}
		if item.Err != nil {
			return nil, conn.batches, item.Err
		}
		var eps []string
		err := pc.QueryRow(ctx, `SELECT coalesce(array_agg(endpoint_id ORDER BY endpoint_id), '{}') FROM deliveries WHERE msg_id = $1`,
			item.Message.ID).Scan(&eps)
		return eps, conn.batches, err
	}
	check := func(step string, wantEps []string, wantTrips int) {
		t.Helper()
		eps, trips, err := publish()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(eps) != len(wantEps) || (len(eps) > 0 && (eps[0] != wantEps[0] || eps[len(eps)-1] != wantEps[len(wantEps)-1])) {
			t.Errorf("%s: delivered to %v, want %v", step, eps, wantEps)
		}
		if trips != wantTrips {
			t.Errorf("%s: %d round trips, want %d", step, trips, wantTrips)
		}
	}

	check("first publish", []string{first.ID}, 2)
	check("known app", []string{first.ID}, 1)

	second := endpoint()
	pgtest.Must(t, other.EndpointCreate(ctx, second))
	both := []string{min(first.ID, second.ID), max(first.ID, second.ID)}
	check("endpoint added on another node", both, 3)
	check("known again", both, 1)

	first.Disabled, first.UpdatedAt = true, time.Now().UTC()
	pgtest.Must(t, other.EndpointUpdate(ctx, first))
	check("endpoint disabled on another node", []string{second.ID}, 3)

	pgtest.Must(t, other.EndpointDelete(ctx, app.ID, second.ID))
	check("endpoint deleted on another node", nil, 3)

	limit := 10
	app.RateLimit, app.UpdatedAt = &limit, time.Now().UTC()
	pgtest.Must(t, other.AppUpdate(ctx, app))
	check("app's rate limit changed on another node", nil, 3)
	check("known once more", nil, 1)

	pgtest.Must(t, other.AppDelete(ctx, app.ID))
	if _, _, err := publish(); !errors.Is(err, hookline.ErrNotFound) {
		t.Errorf("publish to an app deleted on another node: %v, want not found", err)
	}
}
