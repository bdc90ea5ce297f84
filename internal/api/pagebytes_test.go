package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// discardWriter is a ResponseWriter that only counts what is written.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }
func (d *discardWriter) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// TestListPageBytes checks that a list of items whose bodies together
// far outweigh store.MaxPageBytes answers pages cut short by it, not
// done, whose iterators lead through every item once; and that serving a
// page allocates about what the page holds, not what the list does.
func TestListPageBytes(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	a := e.createApp("Acme", "acme")
	src := e.createSource(map[string]any{"name": "big", "uid": "big", "routes": []map[string]any{{"type": "hold"}}})

	// 20 items of almost 1 MiB each: 8 fit in a page.
	const n, size, perPage = 20, 1<<20 - 1000, store.MaxPageBytes / (1<<20 - 1000)
	body := `{"p":"` + strings.Repeat("x", size-8) + `"}`
	t0 := time.Now().Add(-time.Hour)
	var msgIDs, reqIDs []string
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		m := &store.MessageCreate{Message: &hookline.Message{ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID,
			EventType: "big", Payload: json.RawMessage(body), CreatedAt: at}}
		if err := e.env.st.MessageCreate(t.Context(), []*store.MessageCreate{m}); err != nil {
			t.Fatal(err)
		}
		x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: src.ID, Method: "POST", Path: "/in/x",
			Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(body), View: json.RawMessage(body[:100] + `"}`),
			Verified: true, CreatedAt: at}
		if err := e.st.ReceivedCreate(t.Context(), &store.Receive{Received: x}); err != nil {
			t.Fatal(err)
		}
		msgIDs, reqIDs = append(msgIDs, m.Message.ID), append(reqIDs, x.ID)
	}

	for _, tc := range []struct {
		path string
		want []string // in list order
	}{
		{"/api/v1/app/acme/msg", reverse(msgIDs)},
		{"/api/v1/source/big/request", reverse(reqIDs)},
		{"/api/v1/source/big/events", reqIDs},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var got []string
			iterator := ""
			for page := 0; ; page++ {
				if page > n {
					t.Fatal("the walk did not end")
				}
				var l struct {
					Data []struct {
						ID string `json:"id"`
					} `json:"data"`
					Iterator *string `json:"iterator"`
					Done     bool    `json:"done"`
				}
				e.do("GET", tc.path+"?limit=250&iterator="+url.QueryEscape(iterator), nil).want(http.StatusOK).decode(&l)
				if page == 0 && (len(l.Data) != perPage || l.Done) {
					t.Errorf("first page: %d items, done %v; want %d, not done", len(l.Data), l.Done, perPage)
				}
				for _, d := range l.Data {
					got = append(got, d.ID)
				}
				if l.Done || len(l.Data) == 0 {
					break
				}
				if l.Iterator == nil {
					t.Fatal("a page that is not done has no iterator")
				}
				iterator = *l.Iterator
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("walked %d items %v,\nwant each of the %d once: %v", len(got), got, len(tc.want), tc.want)
			}
		})
	}

	// The stream reads the same capped pages, and passes on every request.
	t.Run("stream", func(t *testing.T) {
		from := hookline.IDFloor(hookline.PrefixReceived, t0)
		resp := e.get("/api/v1/source/big/stream", "Last-Event-ID", from)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 4<<20)
		// The stream opens with an event that only says where it starts.
		var opening string
		for opening == "" && sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				opening = id
			}
		}
		if opening != from {
			t.Fatalf("the stream starts at %q, want %q", opening, from)
		}
		var got []string
		for len(got) < n && sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				got = append(got, id)
			}
		}
		if strings.Join(got, " ") != strings.Join(reqIDs, " ") {
			t.Errorf("streamed %v (%v),\nwant %v", got, sc.Err(), reqIDs)
		}
	})

	// One page, all of its items some 8 MiB, takes a few times that to
	// serve; the whole list (20 MiB) would take several times more.
	for _, path := range []string{"/api/v1/app/acme/msg", "/api/v1/source/big/request"} {
		req := httptest.NewRequest("GET", path+"?limit=250", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := &discardWriter{header: http.Header{}}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e.h.ServeHTTP(w, req)
		runtime.ReadMemStats(&after)
		if w.status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, w.status)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("GET %s: %d bytes written, %.1f MiB allocated", path, w.n, float64(alloc)/(1<<20))
		if limit := uint64(4 * store.MaxPageBytes); alloc > limit {
			t.Errorf("GET %s allocated %.1f MiB for one page, want under %d MiB", path, float64(alloc)/(1<<20), limit>>20)
		}
	}
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
