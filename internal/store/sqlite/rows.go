package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// batchRows is how many rows one statement of the hot write paths writes:
// a batch goes out in statements of this many rows, and what is left one
// row at a time. One statement per row costs about as much again outside
// SQLite as inside it.
const batchRows = 32

// rowStatement is an INSERT or UPDATE of the hot write paths in two
// prepared forms: for one row, and for batchRows rows.
type rowStatement struct {
	one, many string
	cols      int
}

// insertRows returns the rowStatement of insert, an INSERT ... VALUES
// (?, ...) of one row.
func insertRows(insert string, cols int) rowStatement {
	head := insert[:strings.LastIndex(insert, "VALUES")]
	return rowStatement{one: insert, many: head + "VALUES " + rowPlaceholders(batchRows, cols), cols: cols}
}

// rowPlaceholders returns rows groups of cols parameters, "(?, ?), (?, ?)",
// for a statement that writes many rows.
func rowPlaceholders(rows, cols int) string {
	row := "(" + placeholders(cols) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}

// rowWriter collects the rows of one rowStatement in a transaction and
// writes them batchRows at a time.
type rowWriter struct {
	s    *Store
	tx   *sql.Tx
	st   rowStatement
	args []any
}

func (s *Store) rowWriter(tx *sql.Tx, st rowStatement) *rowWriter {
	return &rowWriter{s: s, tx: tx, st: st, args: make([]any, 0, batchRows*st.cols)}
}

// add adds a row of the statement's columns, and writes the collected rows
// once there are batchRows of them.
func (w *rowWriter) add(ctx context.Context, row ...any) error {
	w.args = append(w.args, row...)
	if len(w.args) < batchRows*w.st.cols {
		return nil
	}
	err := w.s.execStmt(ctx, w.tx, w.st.many, w.args)
	w.args = w.args[:0]
	return err
}

// flush writes the rows left, one statement each.
func (w *rowWriter) flush(ctx context.Context) error {
	for i := 0; i < len(w.args); i += w.st.cols {
		if err := w.s.execStmt(ctx, w.tx, w.st.one, w.args[i:i+w.st.cols]); err != nil {
			return err
		}
	}
	w.args = w.args[:0]
	return nil
}

// execStmt runs one of the writer's statements in tx.
func (s *Store) execStmt(ctx context.Context, tx *sql.Tx, query string, args []any) error {
	st, err := s.txStmt(ctx, tx, query)
	if err == nil {
		_, err = st.ExecContext(ctx, args...)
	}
	return err
}
