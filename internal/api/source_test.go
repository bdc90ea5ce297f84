package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
)

// githubSecret is the secret of GitHub's own signature example.
const githubSecret = "It's a Secret to Everybody"

// srcEnv is the API with inbound sources over a real SQLite store, served
// on loopback together with the receive endpoint, as the server mounts
// them. Its clock can be moved forward.
type srcEnv struct {
	*env
	st     inbound.Store
	svc    *inbound.Service
	srv    *httptest.Server
	offset atomic.Int64 // added to the clock, in nanoseconds
}

func newSrcEnv(t *testing.T) *srcEnv {
	t.Helper()
	st := openSQLite(t).(inbound.Store)
	e := &srcEnv{st: st}
	now := func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.svc = inbound.New(inbound.Options{
		Store:     st,
		PublicURL: e.srv.URL,
		Commands:  map[string]inbound.Command{"ok": {Path: "true"}},
		Now:       now,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	e.env = newEnv(t, st, func(o *Options) {
		o.Inbound = e.svc
		o.Now = now
	})
	mux.Handle("/in/", e.svc.Handler())
	mux.Handle("/", e.h)
	return e
}

// createSource creates a source and returns it with its receive URL.
func (e *srcEnv) createSource(body map[string]any) sourceOut {
	e.t.Helper()
	var out sourceOut
	e.do("POST", "/api/v1/source", body).want(http.StatusCreated).decode(&out)
	if !strings.HasPrefix(out.URL, e.srv.URL+"/in/") {
		e.t.Fatalf("create answered url %q, want one under %s/in/", out.URL, e.srv.URL)
	}
	return out
}

// post sends a request to a receive URL, signed as GitHub signs when
// secret is not empty, and returns the status.
func (e *srcEnv) post(url, event, body, secret string) int {
	e.t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", hookline.NewID("d_"))
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var githubSource = map[string]any{
	"name":         "GitHub",
	"uid":          "github",
	"verification": map[string]any{"scheme": "github", "secrets": []string{githubSecret}},
	"routes": []map[string]any{
		{"type": "forward", "url": "https://example.com/hooks"},
		{"type": "hold"},
	},
}

func TestSourceCreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	created := e.createSource(githubSource)
	token := strings.TrimPrefix(created.URL, e.srv.URL+"/in/")
	if len(token) < 26 {
		t.Errorf("token %q is too short to hold 128 random bits", token)
	}
	if !strings.HasPrefix(created.ID, hookline.PrefixSource) || deref(created.UID) != "github" || len(created.Routes) != 2 ||
		!strings.HasPrefix(created.Routes[0].ID, hookline.PrefixRoute) || created.Routes[0].ID == created.Routes[1].ID ||
		created.Response.Status != 200 || created.Methods[0] != "POST" || created.MaxBodyBytes != hookline.DefaultSourceMaxBody {
		t.Errorf("created %+v", created)
	}
	if got := string(created.Verification); !strings.Contains(got, `"****body"`) || strings.Contains(got, "Secret") {
		t.Errorf("create shows verification %s, want the secret masked", got)
	}

	// Only the token's hash is kept.
	stored, err := e.st.SourceGet(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(token)); !bytes.Equal(stored.TokenHash, sum[:]) {
		t.Error("stored token hash is not the SHA-256 of the URL's token")
	}

	// The URL is shown once; gets and lists show none, and masked secrets.
	for _, path := range []string{"/api/v1/source/" + created.ID, "/api/v1/source/github"} {
		r := e.do("GET", path, nil).want(http.StatusOK)
		if bytes.Contains(r.Body, []byte(token)) || bytes.Contains(r.Body, []byte(created.URL)) || bytes.Contains(r.Body, []byte("Secret")) {
			t.Errorf("GET %s shows the token or secret: %s", path, r.Body)
		}
		var got sourceOut
		r.decode(&got)
		if got.ID != created.ID || !strings.Contains(string(got.Verification), `"****body"`) {
			t.Errorf("GET %s = %+v", path, got)
		}
	}
	var list listOut[sourceOut]
	r := e.do("GET", "/api/v1/source", nil).want(http.StatusOK)
	r.decode(&list)
	if len(list.Data) != 1 || list.Data[0].ID != created.ID || bytes.Contains(r.Body, []byte(token)) {
		t.Errorf("list = %s", r.Body)
	}
	e.do("POST", "/api/v1/source", githubSource).wantError(http.StatusConflict, "conflict")

	// The forward route became an endpoint of an app named by the source.
	var eps listOut[endpointOut]
	e.do("GET", "/api/v1/app/"+created.ID+"/endpoint", nil).want(http.StatusOK).decode(&eps)
	if len(eps.Data) != 1 || eps.Data[0].URL != "https://example.com/hooks" || deref(eps.Data[0].UID) != created.Routes[0].ID {
		t.Errorf("forward endpoints = %+v", eps.Data)
	}

	if st := e.post(created.URL, "push", `{"ref":"main"}`, githubSecret); st != http.StatusOK {
		t.Fatalf("signed request got %d", st)
	}
	if st := e.post(created.URL, "push", `{"ref":"main"}`, "wrong"); st != http.StatusUnauthorized {
		t.Fatalf("badly signed request got %d, want 401", st)
	}

	// A PATCH that leaves the secrets out keeps them, and so does the
	// token; so does a PUT that sends back the masked secret it was shown.
	var patched sourceOut
	e.do("PATCH", "/api/v1/source/github", map[string]any{"name": "GitHub org", "verification": map[string]any{"scheme": "github"}}).
		want(http.StatusOK).decode(&patched)
	if patched.Name != "GitHub org" || patched.URL != "" || len(patched.Routes) != 2 {
		t.Errorf("PATCH gave %+v", patched)
	}
	if st := e.post(created.URL, "push", `{"ref":"dev"}`, githubSecret); st != http.StatusOK {
		t.Fatalf("after PATCH, signed request got %d; secret or token lost", st)
	}
	var shown map[string]any
	e.do("GET", "/api/v1/source/github", nil).want(http.StatusOK).decode(&shown)
	shown["routes"] = []map[string]any{{"type": "hold"}}
	var put sourceOut
	e.do("PUT", "/api/v1/source/github", shown).want(http.StatusOK).decode(&put)
	if len(put.Routes) != 1 || put.Routes[0].Type != "hold" {
		t.Errorf("PUT routes = %+v", put.Routes)
	}
	if st := e.post(created.URL, "push", `{"ref":"put"}`, githubSecret); st != http.StatusOK {
		t.Fatalf("after PUT with the masked secret, signed request got %d", st)
	}
	e.do("GET", "/api/v1/app/"+created.ID+"/endpoint", nil).want(http.StatusOK).decode(&eps)
	if len(eps.Data) != 0 {
		t.Errorf("forward endpoints after the forward route was removed: %+v", eps.Data)
	}
	e.do("PUT", "/api/v1/source/nosuch", shown).wantError(http.StatusNotFound, "not_found")

	e.do("DELETE", "/api/v1/source/github", nil).want(http.StatusNoContent)
	e.do("GET", "/api/v1/source/"+created.ID, nil).wantError(http.StatusNotFound, "not_found")
	e.do("GET", "/api/v1/app/"+created.ID, nil).wantError(http.StatusNotFound, "not_found")
	if st := e.post(created.URL, "push", `{}`, githubSecret); st != http.StatusNotFound {
		t.Errorf("deleted source's URL answered %d, want 404", st)
	}
}

func TestSourceValidation(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	for _, tc := range []struct {
		name string
		body map[string]any
		loc  []string
	}{
		{"no name", map[string]any{}, []string{"body", "name"}},
		{"bad route type", map[string]any{"name": "x", "routes": []map[string]any{{"type": "teleport"}}}, []string{"body", "routes.type"}},
		{"forward URL not http", map[string]any{"name": "x", "routes": []map[string]any{{"type": "forward", "url": "ftp://example.com/x"}}},
			[]string{"body", "routes.url"}},
		{"unknown scheme", map[string]any{"name": "x", "verification": map[string]any{"scheme": "carrier-pigeon"}},
			[]string{"body", "verification", "scheme"}},
		{"scheme without secret", map[string]any{"name": "x", "verification": map[string]any{"scheme": "stripe"}},
			[]string{"body", "verification", "secrets"}},
		{"verification not an object", map[string]any{"name": "x", "verification": "github"}, []string{"body", "verification"}},
		{"unknown command", map[string]any{"name": "x", "routes": []map[string]any{{"type": "command", "command": "rm"}}},
			[]string{"body", "routes", "command"}},
		{"response not 2xx", map[string]any{"name": "x", "response": map[string]any{"status": 500}}, []string{"body", "response.status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.in(t).do("POST", "/api/v1/source", tc.body).wantInvalid(tc.loc...)
		})
	}
	var list listOut[sourceOut]
	e.do("GET", "/api/v1/source", nil).want(http.StatusOK).decode(&list)
	if len(list.Data) != 0 {
		t.Errorf("invalid creates left sources: %+v", list.Data)
	}

	src := e.createSource(map[string]any{"name": "x"})
	e.do("PATCH", "/api/v1/source/"+src.ID, map[string]any{"routes": []map[string]any{{"type": "forward", "url": "not a url"}}}).
		wantInvalid("body", "routes.url")
	e.do("POST", "/api/v1/source/"+src.ID+"/token/rotate", map[string]any{"gracePeriodSeconds": 604801}).
		wantInvalid("body", "gracePeriodSeconds")
	e.do("GET", "/api/v1/source/"+src.ID+"/request?verified=maybe", nil).wantInvalid("query", "verified")
	e.do("GET", "/api/v1/source/"+src.ID+"/events", nil).wantError(http.StatusConflict, "conflict")
}

// TestSourceForwardGuard checks that a forward route the network guard
// refuses at every forward is refused when it is set, and that a source
// keeping one can still be changed.
func TestSourceForwardGuard(t *testing.T) {
	t.Parallel()
	strict := newSrcEnv(t)
	open := newEnv(t, strict.st, func(o *Options) {
		o.Inbound = inbound.New(inbound.Options{Store: strict.st, PublicURL: strict.srv.URL, AllowPrivateNetworks: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	})
	forward := func(url string) map[string]any {
		return map[string]any{"name": "x", "routes": []map[string]any{{"type": "forward", "url": url}}}
	}
	for _, tc := range []struct {
		url    string
		always bool
	}{
		{url: "http://127.0.0.1:3000/hook"},
		{url: "http://localhost:3000/hook"},
		{url: "http://[fe80::1%25eth0]/hook"},
		{url: "http://192.0.0.8/hook"},
		{url: "http://169.254.169.254/latest/meta-data/", always: true},
		{url: "http://192.0.0.192/", always: true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			it := strict.in(t).do("POST", "/api/v1/source", forward(tc.url)).wantInvalid("body", "routes", "url")
			if !strings.Contains(it.Msg, "--allow-private-networks") {
				t.Errorf("message %q does not name --allow-private-networks", it.Msg)
			}
			if !tc.always {
				open.in(t).do("POST", "/api/v1/source", forward(tc.url)).want(http.StatusCreated)
				return
			}
			open.in(t).do("POST", "/api/v1/source", forward(tc.url)).wantInvalid("body", "routes", "url")
		})
	}

	src := strict.createSource(map[string]any{"name": "x"})
	strict.do("PATCH", "/api/v1/source/"+src.ID, forward("http://127.0.0.1/hook")).wantInvalid("body", "routes", "url")
	var local sourceOut
	open.do("POST", "/api/v1/source", forward("http://127.0.0.1:3000/hook")).want(http.StatusCreated).decode(&local)
	strict.do("PATCH", "/api/v1/source/"+local.ID, map[string]any{"name": "renamed"}).want(http.StatusOK)
	strict.do("PATCH", "/api/v1/source/"+local.ID, forward("http://127.0.0.1:4000/hook")).wantInvalid("body", "routes", "url")
}

func TestSourceRotate(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	src := e.createSource(map[string]any{"name": "open"})

	var rotated sourceOut
	e.do("POST", "/api/v1/source/"+src.ID+"/token/rotate", nil).want(http.StatusOK).decode(&rotated)
	if rotated.URL == "" || rotated.URL == src.URL || rotated.PrevTokenExpiresAt == nil ||
		rotated.PrevTokenExpiresAt.Sub(time.Now()) < 23*time.Hour {
		t.Fatalf("rotation gave %+v", rotated)
	}
	for _, u := range []string{src.URL, rotated.URL} {
		if st := e.post(u, "push", `{}`, ""); st != http.StatusOK {
			t.Errorf("within the grace period, %s answered %d", u, st)
		}
	}
	e.offset.Store(int64(25 * time.Hour))
	if st := e.post(src.URL, "push", `{}`, ""); st != http.StatusNotFound {
		t.Errorf("after the grace period the old URL answered %d, want 404", st)
	}
	if st := e.post(rotated.URL, "push", `{}`, ""); st != http.StatusOK {
		t.Errorf("the new URL answered %d", st)
	}

	// With no grace period the old URL stops at once.
	var again sourceOut
	e.do("POST", "/api/v1/source/"+src.ID+"/token/rotate", map[string]any{"gracePeriodSeconds": 0}).want(http.StatusOK).decode(&again)
	if st := e.post(rotated.URL, "push", `{}`, ""); st != http.StatusNotFound {
		t.Errorf("old URL after a rotation without grace answered %d, want 404", st)
	}
	if st := e.post(again.URL, "push", `{}`, ""); st != http.StatusOK {
		t.Errorf("the newest URL answered %d", st)
	}
}

func TestReceivedRequests(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	src := e.createSource(map[string]any{
		"name": "gh", "uid": "gh", "keepRejected": true,
		"verification": map[string]any{"scheme": "github", "secrets": []string{githubSecret}},
		"routes":       []map[string]any{{"type": "command", "command": "ok", "filter": map[string]any{"eventTypes": []string{"push"}}}},
	})
	e.post(src.URL+"?a=1", "push", `{"ref":"main"}`, githubSecret)
	e.post(src.URL, "issues", `{"action":"opened"}`, githubSecret)
	e.post(src.URL, "push", `{"ref":"forged"}`, "wrong")

	list := func(query string) []receivedOut {
		t.Helper()
		var l listOut[receivedOut]
		e.do("GET", "/api/v1/source/"+src.ID+"/request"+query, nil).want(http.StatusOK).decode(&l)
		return l.Data
	}
	all := list("")
	if len(all) != 3 || all[0].Verified || !all[1].Verified || deref(all[2].EventType) != "push" {
		t.Fatalf("list = %+v, want the three requests newest first", all)
	}
	if got := list("?verified=true"); len(got) != 2 || !got[0].Verified || !got[1].Verified {
		t.Errorf("verified=true gave %+v", got)
	}
	if got := list("?verified=false"); len(got) != 1 || got[0].Verified || got[0].VerifyError == nil {
		t.Errorf("verified=false gave %+v", got)
	}
	if got := list("?event_types=issues"); len(got) != 1 || deref(got[0].EventType) != "issues" {
		t.Errorf("event_types=issues gave %+v", got)
	}
	if got := list("?limit=1&verified=false"); len(got) != 1 {
		t.Errorf("limit=1&verified=false gave %+v", got)
	}
	var page listOut[receivedOut]
	e.do("GET", "/api/v1/source/"+src.ID+"/request?limit=2", nil).want(http.StatusOK).decode(&page)
	var next listOut[receivedOut]
	e.do("GET", "/api/v1/source/"+src.ID+"/request?limit=2&iterator="+*page.Iterator, nil).want(http.StatusOK).decode(&next)
	if len(page.Data) != 2 || page.Done || len(next.Data) != 1 || !next.Done || next.Data[0].ID != all[2].ID {
		t.Errorf("pages = %+v then %+v", page, next)
	}

	var got receivedOut
	e.do("GET", "/api/v1/source/gh/request/"+all[2].ID, nil).want(http.StatusOK) // by uid too
	e.do("GET", "/api/v1/source/"+src.ID+"/request/"+all[2].ID, nil).want(http.StatusOK).decode(&got)
	body, _ := base64.StdEncoding.DecodeString(got.BodyBase64)
	if got.Method != "POST" || got.Query != "a=1" || deref(got.Body) != `{"ref":"main"}` || string(body) != `{"ref":"main"}` ||
		string(got.View) != `{"ref":"main"}` || got.Headers["X-Github-Event"][0] != "push" || got.DeliveryID == nil ||
		got.SourceID != src.ID || !strings.HasPrefix(got.Path, "/in/") || got.ReceivedAt.IsZero() {
		t.Errorf("get = %+v", got)
	}
	if len(got.Runs) != 1 || got.Runs[0].Command != "ok" || got.Runs[0].Status != "pending" {
		t.Errorf("runs = %+v, want one pending run of ok", got.Runs)
	}
	e.do("GET", "/api/v1/source/"+src.ID+"/request/in_2mQNMrGTBgaMJhoH1IBZpbtg7Mr", nil).wantError(http.StatusNotFound, "not_found")
	e.do("POST", "/api/v1/source/"+src.ID+"/request/"+all[0].ID+"/replay", nil).wantInvalid("path", "request_id")

	// A body that is not UTF-8 is shown in base64 only.
	open := e.createSource(map[string]any{"name": "bin"})
	resp, err := http.Post(open.URL, "application/octet-stream", bytes.NewReader([]byte{0xff, 0x00, 0xfe}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var bin listOut[receivedOut]
	e.do("GET", "/api/v1/source/"+open.ID+"/request", nil).want(http.StatusOK).decode(&bin)
	if len(bin.Data) != 1 || bin.Data[0].Body != nil || bin.Data[0].BodyBase64 != "/wD+" || string(bin.Data[0].View) != "null" {
		t.Errorf("binary request = %+v", bin.Data)
	}
}

func TestReceivedReplay(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	src := e.createSource(githubSource)
	e.post(src.URL, "push", `{"ref":"main"}`, githubSecret)
	msgs := func() int {
		var l listOut[msgOut]
		e.do("GET", "/api/v1/app/"+src.ID+"/msg", nil).want(http.StatusOK).decode(&l)
		return len(l.Data)
	}
	if n := msgs(); n != 1 {
		t.Fatalf("forward app has %d messages after one request, want 1", n)
	}
	var reqs listOut[receivedOut]
	e.do("GET", "/api/v1/source/"+src.ID+"/request", nil).want(http.StatusOK).decode(&reqs)
	e.do("POST", "/api/v1/source/"+src.ID+"/request/"+reqs.Data[0].ID+"/replay", nil).want(http.StatusAccepted)
	if n := msgs(); n != 2 {
		t.Errorf("forward app has %d messages after a replay, want 2", n)
	}
	e.do("POST", "/api/v1/source/"+src.ID+"/request/in_2mQNMrGTBgaMJhoH1IBZpbtg7Mr/replay", nil).wantError(http.StatusNotFound, "not_found")
}

// get makes an authenticated GET to the test server, for requests that
// must run alongside others.
func (e *srcEnv) get(path string, header ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func TestSourceEvents(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	src := e.createSource(map[string]any{
		"name": "held", "verification": map[string]any{"scheme": "github", "secrets": []string{githubSecret}},
		"routes": []map[string]any{{"type": "hold", "filter": map[string]any{"eventTypes": []string{"push"}}}},
	})
	events := func(query string) listOut[receivedOut] {
		t.Helper()
		var l listOut[receivedOut]
		e.do("GET", "/api/v1/source/"+src.ID+"/events"+query, nil).want(http.StatusOK).decode(&l)
		return l
	}
	if l := events(""); len(l.Data) != 0 || l.Iterator != nil {
		t.Fatalf("events of a new source = %+v", l)
	}

	// A long poll answers as soon as a request arrives.
	go func() {
		time.Sleep(200 * time.Millisecond)
		e.post(src.URL, "push", `{"n":1}`, githubSecret)
	}()
	start := time.Now()
	first := events("?wait=20s")
	if took := time.Since(start); len(first.Data) != 1 || took > 10*time.Second {
		t.Fatalf("long poll gave %+v after %v", first, took)
	}
	if deref(first.Data[0].Body) != `{"n":1}` || *first.Iterator != first.Data[0].ID {
		t.Errorf("long poll = %+v", first)
	}

	// Without "after", polling starts past the acknowledged cursor.
	if l := events(""); len(l.Data) != 1 {
		t.Errorf("unacknowledged events = %+v", l)
	}
	e.do("POST", "/api/v1/source/"+src.ID+"/events/ack", map[string]any{"id": first.Data[0].ID}).want(http.StatusNoContent)
	if l := events(""); len(l.Data) != 0 || deref(l.Iterator) != first.Data[0].ID {
		t.Errorf("events after the ack = %+v, want none and the cursor as iterator", l)
	}

	// Requests the hold route filters out, or that failed verification,
	// are not held.
	e.post(src.URL, "issues", `{"n":2}`, githubSecret)
	e.post(src.URL, "push", `{"n":3}`, "wrong")
	e.post(src.URL, "push", `{"n":4}`, githubSecret)
	l := events("")
	if len(l.Data) != 1 || deref(l.Data[0].Body) != `{"n":4}` {
		t.Errorf("events = %+v, want only n=4", l.Data)
	}
	if l := events("?after=" + first.Data[0].ID + "&limit=5"); len(l.Data) != 1 {
		t.Errorf("events after the first = %+v", l.Data)
	}
	if l := events("?after=" + *l.Iterator + "&wait=0.1"); len(l.Data) != 0 {
		t.Errorf("events after the last = %+v", l.Data)
	}

	e.do("GET", "/api/v1/source/"+src.ID+"/events?wait=61s", nil).wantInvalid("query", "wait")
	e.do("GET", "/api/v1/source/"+src.ID+"/events?after=msg_1", nil).wantInvalid("query", "after")
	e.do("POST", "/api/v1/source/"+src.ID+"/events/ack", map[string]any{"id": "nope"}).wantInvalid("body", "id")
	e.do("POST", "/api/v1/source/"+src.ID+"/events/ack", map[string]any{"id": "in_2mQNMrGTBgaMJhoH1IBZpbtg7Mr"}).
		wantError(http.StatusNotFound, "not_found")
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	id, event, data string
}

// readEvents reads events from a stream into a channel until it ends.
func readEvents(body io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch
}

func nextEvent(t *testing.T, ch <-chan sseEvent) receivedOut {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		var x receivedOut
		if err := json.Unmarshal([]byte(ev.data), &x); err != nil {
			t.Fatalf("event data %q: %v", ev.data, err)
		}
		if ev.event != "request" || ev.id != x.ID {
			t.Errorf("event %q with id %q for request %s", ev.event, ev.id, x.ID)
		}
		return x
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15s")
	}
	return receivedOut{}
}

func TestSourceStream(t *testing.T) {
	t.Parallel()
	e := newSrcEnv(t)
	src := e.createSource(map[string]any{"name": "dev"})
	e.post(src.URL, "push", `{"n":0}`, "") // before connecting: not streamed

	resp := e.get("/api/v1/source/" + src.ID + "/stream")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(resp.Body)
	e.post(src.URL+"?x=1", "push", `{"n":1}`, "")
	first := nextEvent(t, events)
	if deref(first.Body) != `{"n":1}` || first.Query != "x=1" {
		t.Errorf("first event = %+v", first)
	}
	resp.Body.Close()

	// Reconnecting with Last-Event-ID resumes after it.
	e.post(src.URL, "push", `{"n":2}`, "")
	e.post(src.URL, "push", `{"n":3}`, "")
	resp = e.get("/api/v1/source/"+src.ID+"/stream?after=in_2mQNMrGTBgaMJhoH1IBZpbtg7Mr", "Last-Event-ID", first.ID)
	defer resp.Body.Close()
	events = readEvents(resp.Body)
	for _, want := range []string{`{"n":2}`, `{"n":3}`} {
		if got := nextEvent(t, events); deref(got.Body) != want {
			t.Errorf("resumed event = %s, want %s", deref(got.Body), want)
		}
	}

	r := e.get("/api/v1/source/"+src.ID+"/stream", "Last-Event-ID", "bogus")
	r.Body.Close()
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad Last-Event-ID answered %d, want 422", r.StatusCode)
	}
}

// TestReceivedViewDepth checks that a received request's view, which
// encoding/json accepts up to 10000 levels, is shown only when an answer
// holding it stays decodable.
func TestReceivedViewDepth(t *testing.T) {
	array := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	for _, tc := range []struct {
		depth int
		shown bool
	}{{hookline.MaxPayloadDepth, true}, {hookline.JSONMaxDepth, false}} {
		x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), View: json.RawMessage(array(tc.depth))}
		out := receivedToWire(x)
		if shown := string(out.View) != "null"; shown != tc.shown {
			t.Errorf("view of depth %d shown: %v, want %v", tc.depth, shown, tc.shown)
		}
		page, err := newList([]receivedOut{out}, true, func(o *receivedOut) string { return o.ID }).appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(page, &v); err != nil {
			t.Errorf("view of depth %d: a page holding it does not decode: %v", tc.depth, err)
		}
	}
}

// TestReceivedItemJSON checks that a received request in a list or a
// stream, which writes its own JSON, says what receivedToWire does.
func TestReceivedItemJSON(t *testing.T) {
	for _, body := range []string{
		"", `{"ref":"main"}`, "quote \" backslash \\ newline \n tab \t nul \x00 bell \x07 del \x7f",
		"<html>&amp;</html> \u2028 \u00e9 \U0001F600", "bad utf8 \xff\xfe",
	} {
		x := &hookline.Received{ID: hookline.NewID(hookline.PrefixReceived), SourceID: "src_1", Method: "POST", Path: "/in/x",
			Query: "a=1&b=\"2\"", Headers: map[string][]string{"Body": {`"body":""`}}, Body: []byte(body),
			View: inbound.View("application/json", []byte(body)), Verified: true, EventType: "push", CreatedAt: time.Now()}
		got, err := receivedItem{x}.appendJSON([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(receivedToWire(x))
		if err != nil {
			t.Fatal(err)
		}
		var gotV, wantV any
		if err := json.Unmarshal(bytes.TrimPrefix(got, []byte("prefix")), &gotV); err != nil {
			t.Fatalf("body %q: %v in %s", body, err, got)
		}
		if err := json.Unmarshal(want, &wantV); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantV, gotV); diff != "" {
			t.Errorf("body %q (-receivedToWire +receivedItem):\n%s", body, diff)
		}
	}
}
