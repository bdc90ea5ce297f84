package sqlite

import (
	"context"
	"strconv"
)

// LimitPages sets the writer's max_page_count: at the database's size it
// makes SQLite refuse every write that grows the file with SQLITE_FULL, as
// a full disk does; 0 lifts the limit. It returns the page count.
func (s *Store) LimitPages(ctx context.Context, pages int) (int, error) {
	var n int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&n); err != nil {
		return 0, err
	}
	if pages == 0 {
		pages = 1 << 30
	}
	_, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages))
	return n, err
}
