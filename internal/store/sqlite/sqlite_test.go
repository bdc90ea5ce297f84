package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
	"github.com/hookline/hookline/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, open)
}

func TestInboundConformance(t *testing.T) {
	t.Parallel()
	storetest.RunInbound(t, func(t *testing.T) storetest.FullStore { return open(t).(*sqlite.Store) })
}

func TestSecondProcessRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := sqlite.Open(context.Background(), path); err == nil {
		s2.Close()
		t.Fatal("a second Open of the same file succeeded while the first holds it")
	}
}
