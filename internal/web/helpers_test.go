package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/hookline/hookline/internal/api"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

const adminToken = "test-admin-token"

// env is the API and the portal over one SQLite store, served as
// cmd/hookline serves them.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	st    store.Store
	appID string
}

func newEnv(t testing.TB, mod ...func(*Options)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st, mod...)
}

// newEnvOn is newEnv over the store st.
func newEnvOn(t testing.TB, st store.Store, mod ...func(*Options)) *env {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256([]byte(adminToken))
	opts := Options{Store: st, PublicURL: srv.URL, AdminTokenHash: sum[:]}
	for _, m := range mod {
		m(&opts)
	}
	apiHandler := api.New(api.Options{Store: st, TokenHash: sum[:], PublicURL: srv.URL, Inbound: opts.Inbound})
	portal, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/portal/") || strings.HasPrefix(r.URL.Path, "/console/"):
			portal.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/in/") && opts.Inbound != nil:
			opts.Inbound.Handler().ServeHTTP(w, r)
		default:
			apiHandler.ServeHTTP(w, r)
		}
	})
	e := &env{t: t, srv: srv, st: st}
	var app struct{ ID string }
	e.api("POST", "/api/v1/app", map[string]any{"name": "Acme Corp", "uid": "acme"}, &app, http.StatusCreated)
	e.appID = app.ID
	e.api("POST", "/api/v1/event-type", map[string]any{"name": "invoice.paid", "description": "An invoice was paid in full."}, nil, http.StatusCreated)
	e.api("POST", "/api/v1/event-type", map[string]any{"name": "user.created", "description": "A user signed up."}, nil, http.StatusCreated)
	return e
}

// api calls the REST API with the admin token, wants status, and decodes
// the answer into out.
func (e *env) api(method, path string, body, out any, status int) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatal(err)
		}
	}
}

// portalLink asks the API for a portal link to the app.
func (e *env) portalLink(body map[string]any) string {
	e.t.Helper()
	var out struct{ URL string }
	e.api("POST", "/api/v1/auth/app-portal-access/"+e.appID, body, &out, http.StatusOK)
	return out.URL
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// htmlPage is an answer with its parsed HTML.
type htmlPage struct {
	t    testing.TB
	resp *http.Response
	body string
	doc  *html.Node
}

func (b *browser) get(path string) *htmlPage {
	b.e.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.e.srv.URL + path
	}
	req, _ := http.NewRequest("GET", path, nil)
	return b.do(req)
}

// post sends a form as a browser on the portal's own pages would.
func (b *browser) post(path string, form url.Values) *htmlPage {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) do(req *http.Request) *htmlPage {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		b.e.t.Fatal(err)
	}
	return &htmlPage{t: b.e.t, resp: resp, body: string(body), doc: doc}
}

// login opens a portal link and presses Continue.
func (b *browser) login(link string) *htmlPage {
	b.e.t.Helper()
	p := b.get(link).want(http.StatusOK)
	code := p.attr(`input[name=code]`, "value")
	return b.post("/portal/login", url.Values{"code": {code}}).want(http.StatusSeeOther)
}

// csrf reads the form token off a page of the session.
func (b *browser) csrf() string {
	b.e.t.Helper()
	return b.get("/portal/endpoints").want(http.StatusOK).attr(`form[action=/portal/logout] input[name=csrf]`, "value")
}

func (p *htmlPage) want(status int) *htmlPage {
	p.t.Helper()
	if p.resp.StatusCode != status {
		p.t.Fatalf("%s %s: status %d, want %d:\n%s", p.resp.Request.Method, p.resp.Request.URL, p.resp.StatusCode, status, p.body)
	}
	return p
}

// all returns the elements matching a selector of compound selectors
// separated by spaces (descendants), each of a tag, a .class and
// [attr] or [attr=value] conditions, any of them left out.
func (p *htmlPage) all(sel string) []*html.Node {
	roots := []*html.Node{p.doc}
	for _, part := range strings.Fields(sel) {
		var next []*html.Node
		seen := map[*html.Node]bool{}
		for _, r := range roots {
			for c := r.FirstChild; c != nil; c = c.NextSibling {
				for _, n := range matchAll(c, part) {
					if !seen[n] {
						seen[n] = true
						next = append(next, n)
					}
				}
			}
		}
		roots = next
	}
	return roots
}

// matchAll returns n and its descendants that match a compound selector.
func matchAll(n *html.Node, sel string) []*html.Node {
	head, rest, _ := strings.Cut(sel, "[")
	tag, class, _ := strings.Cut(head, ".")
	var conds [][2]string
	if rest != "" {
		for _, c := range strings.Split(strings.TrimSuffix("["+rest, "]"), "][") {
			c = strings.TrimPrefix(c, "[")
			k, v, ok := strings.Cut(c, "=")
			if !ok {
				v = "\x00"
			}
			conds = append(conds, [2]string{k, strings.Trim(v, `"`)})
		}
	}
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (tag == "" || n.Data == tag) {
			ok := true
			if class != "" {
				v, _ := attr(n, "class")
				ok = slices.Contains(strings.Fields(v), class)
			}
			for _, c := range conds {
				v, has := attr(n, c[0])
				if !has || c[1] != "\x00" && v != c[1] {
					ok = false
				}
			}
			if ok {
				out = append(out, n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// one returns the one element matching sel.
func (p *htmlPage) one(sel string) *html.Node {
	p.t.Helper()
	ns := p.all(sel)
	if len(ns) != 1 {
		p.t.Fatalf("%d elements match %s, want 1:\n%s", len(ns), sel, p.body)
	}
	return ns[0]
}

func (p *htmlPage) none(sel string) {
	p.t.Helper()
	if ns := p.all(sel); len(ns) != 0 {
		p.t.Fatalf("%d elements match %s, want none:\n%s", len(ns), sel, p.body)
	}
}

func (p *htmlPage) attr(sel, key string) string {
	p.t.Helper()
	v, _ := attr(p.one(sel), key)
	return v
}

// text returns the text of the one element matching sel, its spaces
// collapsed.
func (p *htmlPage) text(sel string) string {
	p.t.Helper()
	return textOf(p.one(sel))
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (p *htmlPage) hasText(sel, want string) {
	p.t.Helper()
	if got := p.text(sel); !strings.Contains(got, want) {
		p.t.Fatalf("%s says %q, want it to contain %q", sel, got, want)
	}
}

// endpoints lists the app's endpoints through the API.
func (e *env) endpoints() []struct {
	ID, URL, Description string
	Disabled             bool
	EventTypes           []string
	Format               string
} {
	e.t.Helper()
	var out struct {
		Data []struct {
			ID, URL, Description string
			Disabled             bool
			EventTypes           []string
			Format               string
		}
	}
	e.api("GET", "/api/v1/app/"+e.appID+"/endpoint", nil, &out, http.StatusOK)
	return out.Data
}
