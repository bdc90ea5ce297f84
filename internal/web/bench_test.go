package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// BenchmarkPortalPages times the heaviest portal pages on an app with a
// long history: HOOKLINE_BENCH_MESSAGES messages (100,000 by default) to
// two endpoints, one of which takes only a rare event type. The status
// filter that matches nothing is the worst case of a keyset list. On
// PostgreSQL the tables are analyzed after the load, as autovacuum soon
// does; HOOKLINE_BENCH_ANALYZE=1 analyzes the SQLite file too, which
// hookline itself does not do.
//
//	go test ./internal/web -run '^$' -bench PortalPages -benchtime 10x
func BenchmarkPortalPages(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HOOKLINE_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "hookline.db")
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		var loaded func()
		if os.Getenv("HOOKLINE_BENCH_ANALYZE") != "" {
			loaded = func() {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec("ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
		}
		benchPages(b, st, n, loaded)
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.URL(b)
		st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		benchPages(b, st, n, func() {
			// What autovacuum does soon after a bulk load: the planner's
			// statistics of the new rows.
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), "ANALYZE"); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func benchPages(b *testing.B, st store.Store, n int, loaded func()) {
	e := newEnvOn(b, st, withInbound)
	var all, rare struct{ ID string }
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/all"}, &all, http.StatusCreated)
	e.api("POST", "/api/v1/app/"+e.appID+"/endpoint", map[string]any{"url": "https://example.com/rare", "filterTypes": []string{"user.created"}}, &rare, http.StatusCreated)
	start := time.Now()
	ctx := context.Background()
	payload := json.RawMessage(`{"invoice":"in_1","amount":1000,"currency":"eur","customer":{"id":"cus_1","email":"a@example.com"}}`)
	var lastEventID string
	for i := 0; i < n; {
		batch := make([]*store.MessageCreate, 0, 1000)
		for ; i < n && len(batch) < cap(batch); i++ {
			et := "invoice.paid"
			if i%1000 == 0 {
				et = "user.created"
			}
			lastEventID = fmt.Sprintf("evt-%d", i)
			batch = append(batch, &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage),
				AppID: e.appID, EventType: et, EventID: lastEventID, Payload: payload, CreatedAt: time.Now().UTC()}})
		}
		if err := st.MessageCreate(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d messages in %s", n, time.Since(start).Round(time.Millisecond))
	if loaded != nil {
		loaded()
	}
	br := e.browser()
	br.login(e.portalLink(nil))
	rows := br.get("/portal/messages").want(http.StatusOK).all(`[data-test-id=message]`)
	first, _ := attr(rows[0], "data-id")
	pages := []struct{ name, path string }{
		{"endpoints", "/portal/endpoints"},
		{"endpoint", "/portal/endpoints/" + all.ID},
		{"logs", "/portal/messages"},
		{"logs-endpoint", "/portal/messages?endpoint=" + all.ID},
		{"logs-rare-endpoint", "/portal/messages?endpoint=" + rare.ID},
		{"logs-status-none", "/portal/messages?endpoint=" + all.ID + "&status=fail"},
		{"logs-rare-type", "/portal/messages?eventType=user.created"},
		{"logs-older", "/portal/messages?iterator=" + first},
		{"find-event-id", "/portal/messages?q=" + lastEventID},
		{"message", "/portal/messages/" + first},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			status := http.StatusOK
			if p.name == "find-event-id" {
				status = http.StatusSeeOther
			}
			timed(b, func() { br.get(p.path).want(status) })
		})
	}

	// The console's pages over the same history, as an operator.
	op := e.browser()
	op.consoleLogin(adminToken, http.StatusSeeOther)
	console := []struct{ name, path string }{
		{"console-overview", "/console/"},
		{"console-apps", "/console/apps"},
		{"console-messages", "/console/messages"},
		{"console-messages-rare-type", "/console/messages?eventType=user.created"},
		{"console-app-logs", "/console/apps/" + e.appID + "/messages"},
	}
	for _, p := range console {
		b.Run(p.name, func(b *testing.B) {
			timed(b, func() { op.get(p.path).want(http.StatusOK) })
		})
	}

	// A source with a long history of received requests
	// (HOOKLINE_BENCH_RECEIVED, a tenth of the messages by default), one
	// in a hundred rejected, and its inspector's pages.
	ist, ok := st.(store.InboundStore)
	if !ok {
		return
	}
	nr := n / 10
	if v, err := strconv.Atoi(os.Getenv("HOOKLINE_BENCH_RECEIVED")); err == nil && v > 0 {
		nr = v
	}
	var src struct{ ID string }
	e.api("POST", "/api/v1/source", map[string]any{"name": "github", "uid": "github", "keepRejected": true,
		"routes": []map[string]any{{"type": "hold"}}}, &src, http.StatusCreated)
	start = time.Now()
	var lastReceived string
	for i := range nr {
		body := fmt.Sprintf(`{"action":"opened","number":%d,"repository":{"name":"repo-%d"}}`, i, i%50)
		x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: "POST", Path: "/in/****",
			Headers: map[string][]string{"Content-Type": {"application/json"}, "X-Github-Event": {"pull_request"}},
			Body:    []byte(body), View: json.RawMessage(body), Verified: i%100 != 0, EventType: "pull_request",
			RemoteAddr: "127.0.0.1:1", CreatedAt: time.Now().UTC()}
		if !x.Verified {
			x.VerifyError = "no matching signature"
		}
		if err := ist.ReceivedCreate(ctx, &store.Receive{Received: x}); err != nil {
			b.Fatal(err)
		}
		lastReceived = x.ID
	}
	b.Logf("%d received requests in %s", nr, time.Since(start).Round(time.Millisecond))
	sp := "/console/sources/" + src.ID
	inspector := []struct{ name, path string }{
		{"console-sources", "/console/sources"},
		{"console-inspector", sp},
		{"console-inspector-rejected", sp + "?verified=false"},
		{"console-inspector-json-match", sp + "?match=" + url.QueryEscape("repository.name=repo-7")},
		{"console-inspector-no-match", sp + "?header=" + url.QueryEscape("X-Github-Event=push")},
		{"console-request", sp + "/requests/" + lastReceived},
	}
	for _, p := range inspector {
		b.Run(p.name, func(b *testing.B) {
			timed(b, func() { op.get(p.path).want(http.StatusOK) })
		})
	}
}

// timed runs get b.N times and reports the p50 and p99 of its times, in
// milliseconds, beside the mean.
func timed(b *testing.B, get func()) {
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		get()
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[min(len(took)-1, int(q*float64(len(took))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
