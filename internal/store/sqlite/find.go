package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

// MessageFind finds a message by ID, in any app.
func (s *Store) MessageFind(ctx context.Context, id string) (*hookline.Message, error) {
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "message "+id)
	}
	return &m, nil
}

// MessageListAll lists the messages of every app.
func (s *Store) MessageListAll(ctx context.Context, f store.MessageFilter) ([]hookline.Message, bool, error) {
	q := dialect.Query()
	q.MessageListConds("", f)
	q.Weigh(`octet_length(payload) + coalesce(octet_length(headers), 0)`)
	msgs, done, err := sqlstore.List(ctx, s.r.QueryContext, &q, messageCols, "messages", "id", f.Page, func(r *sql.Rows) (hookline.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list messages: %w", err)
	}
	return msgs, done, nil
}
