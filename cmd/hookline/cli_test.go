package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/buildinfo"
)

// cliRun is one run of the command line.
type cliRun struct {
	stdout, stderr string
	err            error
	code           int // the exit status main would give
}

// newCLI returns a function that runs the command line in-process
// against the server at base with the test token, as a user's shell
// would, with stdin as standard input.
func newCLI(t *testing.T, base string) func(stdin string, args ...string) cliRun {
	env := map[string]string{"HOOKLINE_SERVER": base, "HOOKLINE_TOKEN": testToken}
	return func(stdin string, args ...string) cliRun {
		t.Helper()
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := run(ctx, args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
		r := cliRun{stdout: out.String(), stderr: errOut.String(), err: err}
		if err != nil {
			r.code = exitCode(err)
		}
		return r
	}
}

// must fails the test unless the run succeeded.
func (r cliRun) must(t *testing.T, what string) cliRun {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v (exit %d)\nstdout:\n%s\nstderr:\n%s", what, r.err, r.code, r.stdout, r.stderr)
	}
	return r
}

var (
	msgIDRE     = regexp.MustCompile(`msg_[0-9A-Za-z]{27}`)
	attemptIDRE = regexp.MustCompile(`atmpt_[0-9A-Za-z]{27}`)
)

// TestResourcesEndToEnd drives apps, event types, endpoints, messages and
// attempts through the command line against a real server, as an operator
// would, and checks what the server then holds and sends.
func TestResourcesEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil, "--retry-schedule", "0s")
	cli := newCLI(t, srv.URL)
	var failing atomic.Bool
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header) {
		if failing.Load() {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})

	// Apps.
	r := cli("", "app", "create", "--name", "Acme", "--uid", "acme", "--metadata", "plan=pro").must(t, "app create")
	if !strings.Contains(r.stdout, "acme") || !strings.Contains(r.stdout, "plan=pro") {
		t.Errorf("app create printed:\n%s", r.stdout)
	}
	r = cli("", "app", "create", "--name", "Again", "--uid", "acme")
	var ae *apiError
	if !errors.As(r.err, &ae) || ae.Status != http.StatusConflict || ae.Code != "conflict" || r.code != exitFailed {
		t.Errorf("duplicate app: %v (exit %d), want a 409 conflict and exit 1", r.err, r.code)
	}
	if !strings.Contains(r.err.Error(), "409 conflict") {
		t.Errorf("the error does not show the API's status and code: %v", r.err)
	}
	r = cli("", "app", "list").must(t, "app list")
	if l := lineWith(r.stdout, "acme"); !strings.Contains(l, "Acme") || !strings.HasPrefix(r.stdout, "ID ") {
		t.Errorf("app list:\n%s", r.stdout)
	}
	r = cli("", "app", "update", "acme", "--name", "Acme Inc").must(t, "app update")
	if !strings.Contains(r.stdout, "Acme Inc") {
		t.Errorf("app update printed:\n%s", r.stdout)
	}
	// --output json is the API's answer as is.
	r = cli("", "app", "get", "acme", "--output", "json").must(t, "app get")
	var viaAPI map[string]any
	call(t, srv.URL, "GET", "/api/v1/app/acme", nil, &viaAPI)
	var viaCLI map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &viaCLI); err != nil {
		t.Fatalf("app get -o json is not JSON: %v\n%s", err, r.stdout)
	}
	if viaCLI["id"] != viaAPI["id"] || viaCLI["name"] != "Acme Inc" || len(viaCLI) != len(viaAPI) {
		t.Errorf("app get -o json = %v, the API says %v", viaCLI, viaAPI)
	}

	// Event types.
	schema := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(schema, []byte(`{"1": {"type": "object"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cli("", "event-type", "create", "invoice.paid", "--description", "An invoice was paid", "--schema", schema).must(t, "event-type create")
	cli("", "event-type", "create", "invoice.old", "--description", "Gone").must(t, "event-type create")
	r = cli("", "event-type", "get", "invoice.paid").must(t, "event-type get")
	if !strings.Contains(r.stdout, "An invoice was paid") || !strings.Contains(r.stdout, `"type":"object"`) {
		t.Errorf("event-type get:\n%s", r.stdout)
	}
	cli("", "event-type", "update", "invoice.old", "--archived").must(t, "event-type update")
	r = cli("", "event-type", "list").must(t, "event-type list")
	if !strings.Contains(r.stdout, "invoice.paid") || strings.Contains(r.stdout, "invoice.old") {
		t.Errorf("event-type list shows the archived type or not the live one:\n%s", r.stdout)
	}
	r = cli("", "event-type", "list", "--include-archived").must(t, "event-type list")
	if !strings.Contains(lineWith(r.stdout, "invoice.old"), "true") {
		t.Errorf("event-type list --include-archived:\n%s", r.stdout)
	}
	cli("", "event-type", "delete", "invoice.old", "--expunge").must(t, "event-type delete")
	if r = cli("", "event-type", "get", "invoice.old"); r.code != exitFailed || !strings.Contains(r.err.Error(), "404 not_found") {
		t.Errorf("expunged event type: %v (exit %d), want a 404 and exit 1", r.err, r.code)
	}

	// Endpoints.
	r = cli("", "endpoint", "create", "--app", "acme", "--url", rc.URL, "--uid", "main", "--event-type", "invoice.paid").must(t, "endpoint create")
	if !strings.Contains(r.stdout, rc.URL) || !strings.Contains(r.stdout, "invoice.paid") {
		t.Errorf("endpoint create printed:\n%s", r.stdout)
	}
	r = cli("", "endpoint", "list", "--app", "acme").must(t, "endpoint list")
	if l := lineWith(r.stdout, "main"); !strings.Contains(l, rc.URL) || !strings.Contains(l, "enabled") {
		t.Errorf("endpoint list:\n%s", r.stdout)
	}
	cli("", "endpoint", "update", "main", "--app", "acme", "--description", "Acme's receiver").must(t, "endpoint update")
	r = cli("", "endpoint", "get", "main", "--app", "acme", "-o", "json").must(t, "endpoint get")
	var ep struct{ ID, Description string }
	if err := json.Unmarshal([]byte(r.stdout), &ep); err != nil || ep.Description != "Acme's receiver" {
		t.Fatalf("endpoint get -o json (%v):\n%s", err, r.stdout)
	}

	// Messages: the payload goes out byte for byte, from a flag, a file or
	// standard input.
	payloads := []string{`{"b": 1, "a": 12345678901234567890}`, `{"from":"file"}`, `{"from":  "stdin"}`}
	file := filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(file, []byte(payloads[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var msgIDs []string
	for i, args := range [][]string{{"--data", payloads[0]}, {"--file", file}, {"--file", "-"}} {
		r = cli(payloads[2], append([]string{"msg", "publish", "--app", "acme", "--event-type", "invoice.paid"}, args...)...).must(t, "msg publish")
		id := msgIDRE.FindString(r.stdout)
		if id == "" {
			t.Fatalf("msg publish printed no ID:\n%s", r.stdout)
		}
		msgIDs = append(msgIDs, id)
		if got := rc.wait(t, i+1)[i]; string(got.Body) != payloads[i] {
			t.Errorf("delivered %q, want %q", got.Body, payloads[i])
		}
	}
	r = cli("", "msg", "list", "--app", "acme").must(t, "msg list")
	for _, id := range msgIDs {
		if !strings.Contains(lineWith(r.stdout, id), "invoice.paid") {
			t.Errorf("msg list lacks %s:\n%s", id, r.stdout)
		}
	}
	r = cli("", "msg", "list", "--app", "acme", "--limit", "2").must(t, "msg list")
	if strings.Count(r.stdout, "msg_") != 2 || !strings.Contains(r.stderr, "More: run the command again with --iterator "+msgIDs[1]) {
		t.Errorf("msg list --limit 2:\n%s%s", r.stdout, r.stderr)
	}
	r = cli("", "msg", "list", "--app", "acme", "--limit", "2", "--iterator", msgIDs[1]).must(t, "msg list")
	if strings.Count(r.stdout, "msg_") != 1 || !strings.Contains(r.stdout, msgIDs[0]) || r.stderr != "" {
		t.Errorf("msg list's second page:\n%s%s", r.stdout, r.stderr)
	}
	r = cli("", "msg", "get", msgIDs[0], "--app", "acme").must(t, "msg get")
	if !strings.Contains(r.stdout, "12345678901234567890") {
		t.Errorf("msg get shows not the payload:\n%s", r.stdout)
	}

	// Attempts.
	eventually(t, func() string {
		r = cli("", "attempt", "list", "--app", "acme", "--endpoint", "main").must(t, "attempt list")
		if n := strings.Count(r.stdout, "success"); n != 3 {
			return "attempt list shows " + r.stdout
		}
		return ""
	})
	attemptID := attemptIDRE.FindString(lineWith(r.stdout, msgIDs[0]))
	r = cli("", "attempt", "list", "--app", "acme", "-o", "json").must(t, "attempt list of the app")
	var list struct {
		Data []struct{ ID, MsgID string }
		Done bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Data) != 3 || !list.Done || list.Data[2].MsgID != msgIDs[0] {
		t.Errorf("attempt list of the app (%v):\n%s", err, r.stdout)
	}
	r = cli("", "attempt", "list", "--app", "acme", "--msg", msgIDs[1]).must(t, "attempt list of a message")
	if strings.Count(r.stdout, "atmpt_") != 1 || !strings.Contains(r.stdout, msgIDs[1]) {
		t.Errorf("attempt list --msg:\n%s", r.stdout)
	}

	// Resending: by message and endpoint, and by attempt.
	cli("", "msg", "resend", msgIDs[0], "--app", "acme", "--endpoint", "main").must(t, "msg resend")
	if got := rc.wait(t, 4)[3]; string(got.Body) != payloads[0] {
		t.Errorf("msg resend delivered %q", got.Body)
	}
	cli("", "attempt", "resend", attemptID, "--app", "acme", "--msg", msgIDs[0]).must(t, "attempt resend")
	if got := rc.wait(t, 5)[4]; string(got.Body) != payloads[0] {
		t.Errorf("attempt resend delivered %q", got.Body)
	}

	// Recovery: a message that failed for good is sent again.
	failing.Store(true)
	r = cli("", "msg", "publish", "--app", "acme", "--event-type", "invoice.paid", "--data", `{"n": "failed"}`).must(t, "msg publish")
	failedID := msgIDRE.FindString(r.stdout)
	rc.wait(t, 6)
	eventually(t, func() string {
		r = cli("", "attempt", "list", "--app", "acme", "--msg", failedID, "--status", "fail").must(t, "attempt list")
		if !strings.Contains(r.stdout, "503") {
			return "no failed attempt yet:\n" + r.stdout
		}
		return ""
	})
	failing.Store(false)
	r = cli("", "endpoint", "recover", "main", "--app", "acme", "--since", "1h").must(t, "endpoint recover")
	if !strings.Contains(r.stdout, "Queued") {
		t.Errorf("endpoint recover printed:\n%s", r.stdout)
	}
	if got := rc.wait(t, 7)[6]; string(got.Body) != `{"n": "failed"}` {
		t.Errorf("recover delivered %q", got.Body)
	}

	// Deleting.
	cli("", "endpoint", "delete", "main", "--app", "acme").must(t, "endpoint delete")
	if r = cli("", "app", "delete", "acme", "-o", "json").must(t, "app delete"); r.stdout != "" {
		t.Errorf("app delete -o json printed %q, where the API answered nothing", r.stdout)
	}
	if r = cli("", "app", "get", "acme"); r.code != exitFailed {
		t.Errorf("deleted app: %v (exit %d)", r.err, r.code)
	}
}

// TestUsageErrors checks that a command line that cannot run is refused
// with exit status 2 before anything is sent, and one the server refuses
// or cannot answer with 1.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	cli := newCLI(t, srv.URL)
	call(t, srv.URL, "POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme"}, nil)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"bogus"}, "unknown command"},
		{"unknown subcommand", []string{"app", "bogus"}, `unknown command "bogus"`},
		{"unknown flag", []string{"app", "list", "--bogus"}, "unknown flag"},
		{"missing flag", []string{"app", "create"}, `"name" not set`},
		{"missing argument", []string{"app", "get"}, "accepts 1 arg"},
		{"bad output", []string{"app", "list", "--output", "yaml"}, "want table or json"},
		{"bad limit", []string{"app", "list", "--limit", "0"}, "want 1 to 250"},
		{"no payload", []string{"msg", "publish", "--app", "acme", "--event-type", "a.b"}, "no payload"},
		{"two payloads", []string{"msg", "publish", "--app", "acme", "--event-type", "a.b", "--data", "{}", "--file", "-"}, "not both"},
		{"payload not JSON", []string{"msg", "publish", "--app", "acme", "--event-type", "a.b", "--data", "{"}, "not valid JSON"},
		{"bad since", []string{"endpoint", "recover", "ep", "--app", "acme", "--since", "yesterday"}, "--since"},
		{"nothing to update", []string{"app", "update", "acme"}, "nothing to update"},
		{"bad status", []string{"attempt", "list", "--app", "acme", "--status", "ok"}, "--status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli("", tc.args...)
			if r.code != exitUsage || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("%v: %v (exit %d), want exit 2 and %q", tc.args, r.err, r.code, tc.want)
			}
		})
	}
	// Help is no error.
	if r := cli("", "app"); r.err != nil || !strings.Contains(r.stdout, "hookline app [command]") {
		t.Errorf("hookline app: %v\n%s", r.err, r.stdout)
	}

	// No token is a usage error; a server that does not answer is not.
	var out bytes.Buffer
	err := Main(context.Background(), []string{"app", "list"}, &out, &out, func(k string) string {
		return map[string]string{"HOOKLINE_SERVER": srv.URL}[k]
	})
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "HOOKLINE_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	down := newCLI(t, "http://127.0.0.1:1")
	for _, args := range [][]string{{"app", "list"}, {"msg", "list", "--app", "acme"}} {
		r := down("", args...)
		if r.code != exitFailed || !strings.Contains(r.err.Error(), "cannot reach the hookline server at http://127.0.0.1:1") {
			t.Errorf("%v against a closed port: %v (exit %d)", args, r.err, r.code)
		}
	}
	// An invalid body is the API's 422, its fields named.
	r := cli("", "msg", "publish", "--app", "acme", "--event-type", "a.b", "--data", "[1]")
	if r.code != exitFailed || !strings.Contains(r.err.Error(), "422") || !strings.Contains(r.err.Error(), "payload") {
		t.Errorf("array payload: %v (exit %d)", r.err, r.code)
	}
}

// TestAttemptTail follows an app's attempts while messages are published,
// and stops after --count of them.
func TestAttemptTail(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	cli := newCLI(t, srv.URL)
	rc := newReceiver(t, nil)
	cli("", "app", "create", "--name", "Acme", "--uid", "acme").must(t, "app create")
	cli("", "endpoint", "create", "--app", "acme", "--url", rc.URL).must(t, "endpoint create")
	cli("", "endpoint", "create", "--app", "acme", "--url", rc.URL+"/second").must(t, "endpoint create")
	publish := func(n string) string {
		r := cli("", "msg", "publish", "--app", "acme", "--event-type", "a.b", "--data", `{"n":"`+n+`"}`).must(t, "msg publish")
		return msgIDRE.FindString(r.stdout)
	}
	before := publish("before")
	eventually(t, func() string { // both attempts recorded
		if r := cli("", "attempt", "list", "--app", "acme").must(t, "attempt list"); strings.Count(r.stdout, "success") != 2 {
			return "attempts of the first message:\n" + r.stdout
		}
		return ""
	})

	// tail runs attempt tail until it stops, and returns its output once
	// it has printed the attempts from before its start.
	tail := func(args ...string) func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		stdout := &lockedBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- Main(ctx, append([]string{"attempt", "tail", "--app", "acme", "--interval", "100ms"}, args...),
				stdout, io.Discard, func(k string) string {
					return map[string]string{"HOOKLINE_SERVER": srv.URL, "HOOKLINE_TOKEN": testToken}[k]
				})
		}()
		eventually(t, func() string {
			if !strings.Contains(stdout.String(), before) {
				return "attempt tail printed not the attempt from before its start"
			}
			return ""
		})
		return func() string {
			defer cancel()
			if err := <-done; err != nil {
				t.Fatalf("attempt tail: %v", err)
			}
			if ctx.Err() != nil {
				t.Fatal("attempt tail did not stop after --count attempts")
			}
			return stdout.String()
		}
	}

	// The tail prints the newest attempt from before its start first; then
	// the attempts of the messages published after it.
	wait := tail("--last", "1", "--count", "4", "-o", "json")
	var after []string
	for _, n := range []string{"one", "two"} {
		after = append(after, publish(n))
	}
	out := wait()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("attempt tail printed %d lines, want 1 + 4:\n%s", len(lines), out)
	}
	var got []string
	for _, l := range lines {
		var a struct{ MsgID string }
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("not an attempt's JSON: %q", l)
		}
		got = append(got, a.MsgID)
	}
	want := []string{before, after[0], after[0], after[1], after[1]}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("attempt tail printed the attempts of\n%v, want\n%v", got, want)
	}

	// The table has its header once, above the attempts from before the
	// start, then a row per new attempt.
	before = after[1]
	wait = tail("--last", "2", "--count", "2")
	third := publish("three")
	out = wait()
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "TIME ") || strings.Count(out, "TIME") != 1 ||
		!strings.Contains(lines[1], after[1]) || !strings.Contains(lines[3], third) || !strings.Contains(lines[4], "success") {
		t.Errorf("attempt tail's table (after %v, third %s):\n%s", after, third, out)
	}

	// An API refusal ends the tail at once.
	r := cli("", "attempt", "tail", "--app", "acme", "--last", "3", "--count", "0", "--interval", "100ms", "--endpoint", "bogus")
	if r.code != exitFailed || !strings.Contains(r.err.Error(), "404") {
		t.Errorf("tail of an unknown endpoint: %v (exit %d)", r.err, r.code)
	}
}

// TestVersion checks that `hookline version` and the deliveries'
// User-Agent name the same build.
func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"version"}, &out, &out, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	info := buildinfo.Read()
	if got, want := out.String(), "hookline "+info.String()+"\n"; got != want {
		t.Errorf("version printed %q, want %q", got, want)
	}
	srv := startServer(t, nil)
	rc := newReceiver(t, nil)
	cli := newCLI(t, srv.URL)
	cli("", "app", "create", "--name", "Acme", "--uid", "acme").must(t, "app create")
	cli("", "endpoint", "create", "--app", "acme", "--url", rc.URL).must(t, "endpoint create")
	cli("", "msg", "publish", "--app", "acme", "--event-type", "a.b", "--data", "{}").must(t, "msg publish")
	if ua := rc.wait(t, 1)[0].Header.Get("User-Agent"); !strings.HasPrefix(ua, info.UserAgent()+" node/") {
		t.Errorf("User-Agent %q does not start with %q", ua, info.UserAgent())
	}
}

// TestExitStatus runs the built binary, as a script would, and checks
// its exit statuses: 0, 1 for an API error or an unreachable server, 2 for
// a bad command line; and that -ldflags sets the version.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "hookline")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(goBin, "build", "-o", bin, "-ldflags", "-X github.com/hookline/hookline/internal/buildinfo.version=v9.8.7", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := startServer(t, nil)
	for _, tc := range []struct {
		name   string
		args   []string
		server string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"version"}, srv.URL, 0, "hookline v9.8.7", ""},
		{"list", []string{"app", "list"}, srv.URL, 0, "ID", ""},
		{"not found", []string{"app", "get", "nope"}, srv.URL, 1, "", "404 not_found: "},
		{"unreachable", []string{"app", "list"}, "http://127.0.0.1:1", 1, "", "cannot reach the hookline server"},
		{"usage", []string{"app", "create"}, srv.URL, 2, "", `required flag(s) "name" not set`},
		{"unknown", []string{"app", "frobnicate"}, srv.URL, 2, "", "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = []string{"HOOKLINE_SERVER=" + tc.server, "HOOKLINE_TOKEN=" + testToken}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("hookline %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestTokenReset loses the generated admin token and makes a new one on
// the database, offline; then sets HOOKLINE_ADMIN_TOKEN over it, which
// the server says at start.
func TestTokenReset(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "hookline.db")
	tokenRE := regexp.MustCompile(`hk_[0-9A-Za-z]+`)
	status := func(base, token string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/app", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	noToken := map[string]string{"HOOKLINE_ADMIN_TOKEN": ""}

	srv := startServer(t, noToken, "--db", db)
	old := tokenRE.FindString(srv.stdout.String())
	if old == "" || status(srv.URL, old) != http.StatusOK {
		t.Fatalf("no working generated token in:\n%s", srv.stdout.String())
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"token", "reset", "--db", db}, &out, &errOut, func(string) string { return "" }); err != nil {
		t.Fatalf("token reset: %v\n%s", err, errOut.String())
	}
	fresh := tokenRE.FindString(out.String())
	if fresh == "" || fresh == old || !strings.Contains(out.String(), "Restart the server") {
		t.Fatalf("token reset printed:\n%s", out.String())
	}

	srv = startServer(t, noToken, "--db", db)
	if strings.Contains(srv.stdout.String(), "hk_") {
		t.Errorf("the server generated yet another token:\n%s", srv.stdout.String())
	}
	if got := status(srv.URL, old); got != http.StatusUnauthorized {
		t.Errorf("old token: %d, want 401", got)
	}
	if got := status(srv.URL, fresh); got != http.StatusOK {
		t.Errorf("new token: %d, want 200", got)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	srv = startServer(t, map[string]string{"HOOKLINE_ADMIN_TOKEN": testToken}, "--db", db)
	if !strings.Contains(srv.stdout.String(), "HOOKLINE_ADMIN_TOKEN is set, so it is the admin API token") {
		t.Errorf("the server does not say which token works:\n%s", srv.stdout.String())
	}
	if status(srv.URL, fresh) != http.StatusUnauthorized || status(srv.URL, testToken) != http.StatusOK {
		t.Errorf("with HOOKLINE_ADMIN_TOKEN set, the generated token works or the set one does not")
	}
}

// TestListenPrints listens to two sources at once without forwarding:
// each request is printed with its source, ID and event type, and its
// body with --body. A server that cannot be reached ends listen at once.
func TestListenPrints(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	urls := map[string]string{}
	for _, name := range []string{"shop", "billing"} {
		var src struct{ URL string }
		if st := call(t, srv.URL, "POST", "/api/v1/source", map[string]any{"name": name, "uid": name}, &src); st != http.StatusCreated {
			t.Fatalf("create source: %d", st)
		}
		urls[name] = src.URL
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"listen", "shop", "billing", "--body", "--server", srv.URL}, stdout, stderr,
			func(k string) string { return map[string]string{"HOOKLINE_TOKEN": testToken}[k] })
	}()
	eventually(t, func() string {
		if out := stdout.String(); !strings.Contains(out, "listening to shop") || !strings.Contains(out, "listening to billing") {
			return "listen did not open both streams:\n" + out + stderr.String()
		}
		return ""
	})
	send := func(url, eventType, body string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("X-Event-Type", eventType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(urls["shop"], "order.created", `{"order":1}`)
	send(urls["billing"], "invoice.paid", `{"invoice":2}`)
	var received struct {
		Data []struct{ ID string } `json:"data"`
	}
	call(t, srv.URL, "GET", "/api/v1/source/shop/request", nil, &received)
	if len(received.Data) != 1 {
		t.Fatalf("shop holds %d requests", len(received.Data))
	}
	eventually(t, func() string {
		out := stdout.String()
		shop := lineWith(out, " shop "+received.Data[0].ID+" order.created POST /in/**** (11 bytes)")
		billing := lineWith(out, " billing in_")
		if shop == "" || !strings.Contains(billing, "invoice.paid POST") || !strings.Contains(out, "\n{\"order\":1}\n") {
			return "listen printed:\n" + out
		}
		return ""
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("listen returned %v", err)
	}

	var out bytes.Buffer
	err := Main(context.Background(), []string{"listen", "shop", "--server", "http://127.0.0.1:1"}, &out, &out,
		func(k string) string { return map[string]string{"HOOKLINE_TOKEN": testToken}[k] })
	if err == nil || exitCode(err) != exitFailed || !strings.Contains(err.Error(), "cannot reach the hookline server at http://127.0.0.1:1") {
		t.Errorf("listen to a closed port: %v", err)
	}
}
