package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/store/postgres/pgtest"
)

// send is one request a receiver got: which message, from which node, and
// when it began and ended.
type send struct {
	node       string
	start, end time.Time
}

// sendLog records every send the receivers get.
type sendLog struct {
	mu    sync.Mutex
	byMsg map[string][]send
	total int
}

func (l *sendLog) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, node, _ := strings.Cut(r.Header.Get("User-Agent"), " node/")
		var body struct{ N int }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// A short pause gives each send a duration in which another
		// node's send of the same message would overlap it.
		time.Sleep(time.Millisecond)
		s := send{node: node, start: start, end: time.Now()}
		l.mu.Lock()
		l.byMsg[r.Header.Get("Webhook-Id")] = append(l.byMsg[r.Header.Get("Webhook-Id")], s)
		l.total++
		l.mu.Unlock()
	})
}

// TestClusterSurvivesKill starts three real nodes on one PostgreSQL
// database, publishes 10,000 messages across them, kills one with SIGKILL
// midway, and checks that every acknowledged message was delivered, that
// every duplicate is explained by the dead node, and that no message was
// ever sent by two live nodes at once.
func TestClusterSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	dsn := pgtest.URL(t)
	bin := buildBinary(t)

	log := &sendLog{byMsg: map[string][]send{}}
	const receivers = 4
	var urls []string
	for range receivers {
		rc := httptest.NewServer(log.handler())
		t.Cleanup(rc.Close)
		urls = append(urls, rc.URL)
	}
	// A short lease brings the dead node's deliveries back within seconds;
	// it must still be 4 × the request timeout.
	args := []string{"--request-timeout", "3s", "--lease", "12s", "--retry-schedule", "0s,1s,2s,5s,5s", "--workers", "64"}
	nodes := make([]*process, 3)
	for i := range nodes {
		nodes[i] = startProcess(t, bin, dsn, append([]string{"--node-id", fmt.Sprintf("n%d", i+1)}, args...)...)
	}
	const victim = 2 // nodes[2], "n3", dies

	var apps []string
	for i, u := range urls {
		var app struct{ ID string }
		if code := call(t, nodes[i%3].URL, "POST", "/api/v1/app", map[string]any{"name": fmt.Sprintf("app%d", i)}, &app); code != http.StatusCreated {
			t.Fatalf("create app: %d", code)
		}
		if code := call(t, nodes[(i+1)%3].URL, "POST", "/api/v1/app/"+app.ID+"/endpoint", map[string]any{"url": u}, nil); code != http.StatusCreated {
			t.Fatalf("create endpoint: %d", code)
		}
		apps = append(apps, app.ID)
	}

	const total = 10000
	var (
		next     atomic.Int64
		ackCount atomic.Int64
		acked    sync.Map // message ID → true
		dead     atomic.Bool
		killOnce sync.Once
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	kill := func() {
		killOnce.Do(func() {
			if err := nodes[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Error(err)
			}
			dead.Store(true)
		})
	}
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1))
				if n > total {
					return
				}
				target := n % 3
				if target == victim && dead.Load() {
					target = n % 2
				}
				body := fmt.Sprintf(`{"eventType":"order.paid","payload":{"n":%d}}`, n)
				req, _ := http.NewRequest("POST", nodes[target].URL+"/api/v1/app/"+apps[n%receivers]+"/msg", bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // the node died under the request: not acknowledged
				}
				var out struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted && out.ID != "" {
					acked.Store(out.ID, true)
					if ackCount.Add(1) == total/2 {
						kill()
					}
				}
			}
		}()
	}
	wg.Wait()
	kill()
	<-nodes[victim].exited
	published := time.Now()

	var want []string
	acked.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	if len(want) < total*9/10 {
		t.Fatalf("only %d of %d messages acknowledged", len(want), total)
	}
	missing := len(want)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		missing = 0
		log.mu.Lock()
		for _, id := range want {
			if len(log.byMsg[id]) == 0 {
				missing++
			}
		}
		log.mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let stragglers arrive, so that a late second send is seen too.
	time.Sleep(500 * time.Millisecond)
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages were never delivered\nnode n1 log:\n%s", missing, len(want), tail(nodes[0].stderr.String(), 40))
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	victimID := fmt.Sprintf("n%d", victim+1)
	var dups, overlaps, unexplained int
	perNode := map[string]int{}
	for id, sends := range log.byMsg {
		for _, s := range sends {
			perNode[s.node]++
		}
		if len(sends) < 2 {
			continue
		}
		dups++
		sort.Slice(sends, func(i, j int) bool { return sends[i].start.Before(sends[j].start) })
		live, fromVictim := 0, false
		for _, s := range sends {
			if s.node == victimID {
				// A dead process writes nothing, so every send of the
				// victim's was made before it died, even one the receiver
				// read after the kill (on a busy machine, well after).
				fromVictim = true
			} else {
				live++
			}
		}
		// A duplicate is explained only by the dead node: it sent the
		// message, or began to, and died before recording it; one live
		// node then sent it once after the lease lapsed.
		if !fromVictim || live > 1 {
			unexplained++
			if unexplained <= 5 {
				t.Errorf("message %s sent %d times, not explained by the killed node: %+v", id, len(sends), sends)
			}
		}
		for i := range sends {
			for j := i + 1; j < len(sends); j++ {
				a, b := sends[i], sends[j]
				if a.node != b.node && a.node != victimID && b.node != victimID && b.start.Before(a.end) {
					overlaps++
				}
			}
		}
	}
	t.Logf("acknowledged %d of %d; %d sends (per node %v); %d messages sent more than once; drained %.1fs after publishing ended",
		len(want), total, log.total, perNode, dups, time.Since(published).Seconds())
	if overlaps > 0 {
		t.Errorf("%d sends of one message by two live nodes at once", overlaps)
	}
	if unexplained > 0 {
		t.Errorf("%d duplicates not explained by the killed node", unexplained)
	}
	// The dead node held at most its workers' requests and a flush batch of
	// results unwritten; duplicates beyond that would mean a leak.
	if dups > 64+256 {
		t.Errorf("%d duplicates, more than the dead node could have had in flight", dups)
	}
	for i, p := range nodes {
		if i != victim && perNode[fmt.Sprintf("n%d", i+1)] == 0 {
			t.Errorf("node n%d sent nothing; the work was not shared\n%s", i+1, tail(p.stderr.String(), 20))
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
