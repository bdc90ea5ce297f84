package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// TestNodeList checks that every node sees the live nodes and which one
// holds the leader lock.
func TestNodeList(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.URL(t)
	var stores []*postgres.Store
	for _, id := range []string{"node-a", "node-b"} {
		s, err := postgres.Open(ctx, dsn, postgres.Options{NodeID: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
		if _, err := s.NodeBeat(ctx, store.Node{ID: id, Worker: id == "node-a"}, time.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if lead, err := stores[1].TryLead(ctx); err != nil || !lead {
		t.Fatalf("node-b leads: %v, %v", lead, err)
	}
	if lead, err := stores[0].TryLead(ctx); err != nil || lead {
		t.Fatalf("node-a leads too: %v, %v", lead, err)
	}
	for _, s := range stores {
		nodes, err := s.NodeList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) != 2 || nodes[0].ID != "node-a" || !nodes[0].Worker || nodes[0].Leader ||
			nodes[1].ID != "node-b" || nodes[1].Worker || !nodes[1].Leader || nodes[1].SeenAt.IsZero() {
			t.Errorf("nodes %+v", nodes)
		}
	}
}
