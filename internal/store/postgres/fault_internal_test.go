package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookline/hookline"
)

func TestFaultKinds(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("insert: %w", &pgconn.PgError{Code: code, Message: "x"}) }
	tests := []struct {
		name string
		err  error
		want error // nil: passed unchanged
	}{
		{"disk full", pg("53100"), hookline.ErrStorageFull},
		{"admin shutdown", pg("57P01"), hookline.ErrUnavailable},
		{"crash shutdown", pg("57P02"), hookline.ErrUnavailable},
		{"starting up", pg("57P03"), hookline.ErrUnavailable},
		{"connection failure", pg("08006"), hookline.ErrUnavailable},
		{"too many connections", pg("53300"), hookline.ErrUnavailable},
		{"read-only standby", pg("25006"), hookline.ErrUnavailable},
		{"dropped connection", fmt.Errorf("scan: %w", io.ErrUnexpectedEOF), hookline.ErrUnavailable},
		{"unique violation", pg("23505"), nil},
		{"syntax error", pg("42601"), nil},
		{"no rows", pgx.ErrNoRows, nil},
		{"canceled", context.Canceled, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fault(tt.err)
			if got.Error() != tt.err.Error() {
				t.Errorf("text = %q, want %q", got, tt.err)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("fault(err) does not wrap err")
			}
			for _, kind := range []error{hookline.ErrStorageFull, hookline.ErrUnavailable} {
				if errors.Is(got, kind) != (kind == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", got, kind, !(kind == tt.want))
				}
			}
		})
	}
}
