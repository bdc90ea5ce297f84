package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles hookline into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "hookline")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a hookline serve running as a child process.
type process struct {
	cmd    *exec.Cmd
	URL    string
	stdout *lockedBuffer
	stderr *lockedBuffer
	exited chan struct{}
}

func startProcess(t *testing.T, bin, db string, args ...string) *process {
	t.Helper()
	p := &process{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--allow-private-networks"}, args...)...)
	p.cmd.Env = append(os.Environ(), "HOOKLINE_ADMIN_TOKEN="+testToken)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	p.URL = waitListening(t, p.stdout, p.exited)
	return p
}

// TestKill9LosesNothing kills a real server with SIGKILL while clients
// publish, restarts it on the same database, and checks that every message
// that was answered 202 reaches the receiver at least once.
func TestKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	t.Parallel()
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "hookline.db")

	var (
		mu     sync.Mutex
		seen   = map[int]int{} // message number → deliveries received
		killed atomic.Bool
	)
	rc := newReceiver(t, func(n int, r *http.Request) (int, http.Header) { return http.StatusOK, nil })
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ N int }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Until the kill the receiver is slow, so that a backlog of
		// accepted messages is pending and in flight when the server dies.
		if !killed.Load() {
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		seen[body.N]++
		mu.Unlock()
	})

	schedule := []string{"--retry-schedule", "0s,100ms,200ms,500ms,1s,1s,1s,1s,1s,1s"}
	first := startProcess(t, bin, db, schedule...)
	var app struct{ ID string }
	if code := call(t, first.URL, "POST", "/api/v1/app", map[string]any{"name": "crash"}, &app); code != http.StatusCreated {
		t.Fatalf("create app: %d", code)
	}
	if code := call(t, first.URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": rc.URL}, nil); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d", code)
	}

	// Publishers run until the server dies under them; each remembers the
	// messages it got a 202 for.
	const publishers = 16
	var (
		next  atomic.Int64
		acked sync.Map
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				n := int(next.Add(1))
				body := fmt.Sprintf(`{"eventType":"order.paid","payload":{"n":%d}}`, n)
				req, _ := http.NewRequest("POST", first.URL+"/api/v1/app/"+app.ID+"/msg", bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					acked.Store(n, true)
				}
			}
		}()
	}
	// Kill once a good number is acknowledged, so deliveries are in flight.
	deadline := time.Now().Add(30 * time.Second)
	for next.Load() < 1500 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	killed.Store(true)
	wg.Wait()

	var want []int
	acked.Range(func(k, _ any) bool { want = append(want, k.(int)); return true })
	if len(want) < 100 {
		t.Fatalf("only %d messages acknowledged before the kill; the test needs load", len(want))
	}
	mu.Lock()
	before := len(seen)
	mu.Unlock()

	second := startProcess(t, bin, db, schedule...)
	missing := 0
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		missing = 0
		mu.Lock()
		for _, n := range want {
			if seen[n] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	mu.Unlock()
	t.Logf("acknowledged %d, delivered before the kill %d, delivered twice %d", len(want), before, dups)
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages never reached the receiver after the restart\nserver log:\n%s", missing, len(want), second.stderr.String())
	}
}
