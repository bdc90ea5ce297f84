package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
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

// TestMigrationMasksReceivedPaths opens a database in which an earlier
// version stored received requests with their receive token in the path:
// the migration masks the token, and the rows' old text is not left behind
// in the file.
func TestMigrationMasksReceivedPaths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	token, sourceID := storetest.ClearTokenPaths(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The database is made to look as if the migration had not run yet.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 9`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.WantMaskedPaths(t, s, sourceID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(token)) {
			t.Errorf("%s still holds the token", filepath.Base(name))
		}
	}
}

// TestFull runs the conformance test of a full store, with SQLite's page
// limit standing in for a full disk.
func TestFull(t *testing.T) {
	t.Parallel()
	storetest.RunFull(t, open, func(t *testing.T, st store.Store) func() {
		s := st.(*sqlite.Store)
		n, err := s.LimitPages(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.LimitPages(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := s.LimitPages(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
		}
	})
}
