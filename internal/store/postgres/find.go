package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

// MessageFind finds a message by ID, in any app.
func (s *Store) MessageFind(ctx context.Context, id string) (*hookline.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1`, clean(id)))
	if err != nil {
		return nil, notFound(err, "message "+id)
	}
	return &m, nil
}

// MessageListAll lists the messages of every app.
func (s *Store) MessageListAll(ctx context.Context, f store.MessageFilter) ([]hookline.Message, bool, error) {
	q := dialect.Query()
	q.MessageListConds("", f)
	q.Weigh(`octet_length(payload) + coalesce(pg_column_size(headers), 0)`)
	msgs, done, err := sqlstore.List(ctx, s.pool.Query, &q, messageCols, "messages", "id", f.Page, func(r pgx.Rows) (hookline.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list messages: %w", err)
	}
	return msgs, done, nil
}
