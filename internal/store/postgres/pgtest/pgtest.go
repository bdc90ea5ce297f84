// Package pgtest gives tests a PostgreSQL schema of their own, so that
// tests on one database run in parallel without seeing each other's rows.
//
// Tests find the server through HOOKLINE_TEST_POSTGRES_URL. Where it is
// unset they are skipped, with a message saying how to run them, except
// under CI=true, where an unset or unreachable server fails the test:
// CI must not pass by skipping the PostgreSQL half of the suite.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with the test server's URL.
const EnvURL = "HOOKLINE_TEST_POSTGRES_URL"

// BaseURL returns the test server's URL, skipping or failing t as the
// package doc says when there is none.
func BaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI runs the PostgreSQL tests and .ci/run sets it", EnvURL)
		}
		t.Skipf("PostgreSQL tests skipped: set %s (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", EnvURL)
	}
	return u
}

// URL creates a new, empty schema on the test server and returns a URL
// whose sessions use it (search_path). The schema is dropped, with all it
// holds, when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s (%s): %v; start PostgreSQL or unset the variable", EnvURL, redacted(base), err)
	}
	defer conn.Close(context.Background())
	schema := "hltest_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return WithSchema(t, base, schema)
}

// WithSchema returns base with search_path set to schema.
func WithSchema(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "unparsable URL"
	}
	return u.Redacted()
}

// Must is a short form for a test's setup: it fails t on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("setup: %w", err))
	}
}
