package api

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// The handler tests that use eachStore also run against the SQLite store,
// so the fake cannot drift from the real thing unnoticed.
func init() {
	storeFactories = append(storeFactories, storeFactory{"sqlite", openSQLite})
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}
