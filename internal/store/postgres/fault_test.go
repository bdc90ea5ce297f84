package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/health"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
	"github.com/hookline/hookline/internal/store/storetest"
)

// TestFull runs the conformance test of a full store, with a trigger that
// raises PostgreSQL's disk_full error (SQLSTATE 53100) standing in for a
// full disk.
func TestFull(t *testing.T) {
	t.Parallel()
	pgtest.BaseURL(t)
	storetest.RunFull(t, open, func(t *testing.T, st store.Store) func() {
		schema := pgx.Identifier{st.(*postgres.Store).Schema()}.Sanitize()
		conn, err := pgx.Connect(ctx, pgtest.BaseURL(t))
		pgtest.Must(t, err)
		t.Cleanup(func() { conn.Close(context.Background()) })
		_, err = conn.Exec(ctx, `CREATE FUNCTION `+schema+`.disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
			CREATE TRIGGER disk_full BEFORE INSERT ON `+schema+`.messages FOR EACH ROW EXECUTE FUNCTION `+schema+`.disk_full()`)
		pgtest.Must(t, err)
		return func() {
			_, err := conn.Exec(ctx, `DROP TRIGGER disk_full ON `+schema+`.messages`)
			pgtest.Must(t, err)
		}
	})
}

// TestUnavailable checks that the store's errors say so when the server
// cannot be reached: its connections dropped and new ones refused.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	p, dsn := pgtest.NewProxy(t, pgtest.URL(t), 5)
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	pgtest.Must(t, err)
	t.Cleanup(func() { s.Close() })
	a, _ := newApp(t, s)
	if _, err := s.AppGet(ctx, "missing"); !errors.Is(err, hookline.ErrNotFound) || errors.Is(err, hookline.ErrUnavailable) {
		t.Fatalf("AppGet of a missing app = %v, want only %v", err, hookline.ErrNotFound)
	}
	pgtest.Must(t, s.Ping(ctx))

	p.SetDown(true)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	checks := map[string]func() error{
		"Ping": func() error { return s.Ping(ctx) },
		"AppGet": func() error {
			_, err := s.AppGet(ctx, a.ID)
			return err
		},
		"AppList": func() error {
			_, _, err := s.AppList(ctx, store.Page{Limit: 10})
			return err
		},
		"AppUpdate": func() error { return s.AppUpdate(ctx, a) },
		"MessageCreate": func() error {
			m := message(a.ID, "")
			if err := s.MessageCreate(ctx, []*store.MessageCreate{m}); err != nil {
				return err
			}
			return m.Err
		},
		"SourceByToken": func() error {
			_, err := s.SourceByToken(ctx, []byte("x"), time.Now())
			return err
		},
	}
	if r := health.New(health.Options{Store: s}).Ready(ctx); !slices.Equal(r.Failing, []string{health.CheckStore}) {
		t.Errorf("readiness with the server gone: %+v, want the store failing", r)
	}
	for name, call := range checks {
		if err := call(); !errors.Is(err, hookline.ErrUnavailable) {
			t.Errorf("%s with the server gone: err = %v, want one of kind %v", name, err, hookline.ErrUnavailable)
		}
	}
}
