package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/hookline/hookline/internal/store"
)

var _ store.Sizer = (*Store)(nil)

// DiskSize returns the size of the database file and its write-ahead log.
func (s *Store) DiskSize(context.Context) (int64, error) {
	var total int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		total += st.Size()
	}
	return total, nil
}

// Settle does nothing: hookline never runs SQLite's ANALYZE, so its
// queries are planned without statistics, and a measurement should see
// them planned the way they are in use.
func (s *Store) Settle(context.Context) error { return nil }
