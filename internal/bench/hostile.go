package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HostileStats are the hostile scenario's own figures: what the hostile
// clients sent and got, and how the health check answered meanwhile.
type HostileStats struct {
	// Requests counts the hostile requests by kind and answer, such as
	// "inbound 200", "inbound 503", "deep-payload 422" or "list network".
	Requests map[string]int64 `json:"requests"`
	// Health is the latency of GET /api/v1/health, probed every
	// healthInterval through the attack.
	Health Summary `json:"health_latency"`
	// HealthFailed counts probes that got no 2xx; HealthSlow those that
	// took more than a second.
	HealthFailed int64 `json:"health_failed"`
	HealthSlow   int64 `json:"health_slow"`
}

// The shape of the attack, sized as the hardening target states it.
const (
	hostileSenders     = 32 // senders to the receive URL
	hostileSenderConns = 4  // requests each sender keeps in flight
	hostileBodySize    = 1_000_000
	hostileDeepClients = 8
	hostileDepth       = 500_000
	hostileListClients = 4 // for each of the two payload-bearing lists
	healthInterval     = 50 * time.Millisecond
)

// hostile is an attack in progress against one server.
type hostile struct {
	api    *apiClient
	hc     *http.Client
	recv   string // the receive URL
	srcID  string
	appID  string
	mu     sync.Mutex
	counts map[string]int64
	health Histogram
	failed int64
	slow   int64
}

// startHostile sets up what the attack needs (an unverified source that
// holds what it receives and publishes it into an app of its own) and
// runs the attackers and the health probe until ctx is done; wait returns
// their figures once they have all stopped.
func startHostile(ctx context.Context, api *apiClient, run string) (wait func() *HostileStats, err error) {
	h := &hostile{api: api, counts: map[string]int64{},
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}}
	if h.appID, err = api.createApp(ctx, "hostile-"+run); err != nil {
		return nil, fmt.Errorf("create the hostile app: %w", err)
	}
	var src struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	err = api.call(ctx, http.MethodPost, "/api/v1/source", map[string]any{
		"name": "hostile " + run, "uid": "hostile-" + run, "verification": map[string]any{"scheme": "none"},
		"routes": []map[string]any{{"type": "hold"}, {"type": "publish", "app": h.appID}},
	}, &src)
	if err != nil {
		return nil, fmt.Errorf("create the hostile source: %w", err)
	}
	// The receive URL names the public URL; the benchmark reaches the
	// server at its own base.
	_, token, ok := strings.Cut(src.URL, "/in/")
	if !ok {
		return nil, fmt.Errorf("create the hostile source: no receive URL in the answer (%q)", src.URL)
	}
	h.recv, h.srcID = api.base+"/in/"+token, src.ID

	object, array := hostileBodies()
	deep := deepPayload()
	var wg sync.WaitGroup
	spawn := func(n int, f func(i int)) {
		for i := range n {
			wg.Go(func() {
				for ctx.Err() == nil {
					f(i)
				}
			})
		}
	}
	spawn(hostileSenders*hostileSenderConns, func(i int) {
		body := object
		if i%2 == 1 {
			body = array
		}
		h.send(ctx, "inbound", http.MethodPost, h.recv, "", body, i%4 == 3)
	})
	spawn(hostileDeepClients, func(int) {
		h.send(ctx, "deep-payload", http.MethodPost, api.base+"/api/v1/app/"+h.appID+"/msg", api.token, deep, false)
	})
	spawn(hostileListClients, func(int) {
		h.send(ctx, "list-received", http.MethodGet, api.base+"/api/v1/source/"+h.srcID+"/request?limit=250", api.token, nil, false)
	})
	spawn(hostileListClients, func(int) {
		h.send(ctx, "list-messages", http.MethodGet, api.base+"/api/v1/app/"+h.appID+"/msg?limit=250&with_content=true", api.token, nil, false)
	})
	wg.Go(func() { h.probe(ctx) })
	return func() *HostileStats {
		wg.Wait()
		h.hc.CloseIdleConnections()
		return &HostileStats{Requests: h.counts, Health: h.health.Summary(), HealthFailed: h.failed, HealthSlow: h.slow}
	}, nil
}

// send makes one hostile request, reads the whole answer and counts it;
// streamed sends the body with no declared length.
func (h *hostile) send(ctx context.Context, kind, method, url, token string, body []byte, streamed bool) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if streamed {
			rd = io.MultiReader(rd) // hides the length, so the body goes chunked
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	outcome := "network"
	resp, err := h.hc.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		outcome = fmt.Sprint(resp.StatusCode)
		if err != nil {
			outcome += " cut"
		}
	}
	if ctx.Err() != nil {
		return // the attack ended mid-request: not an answer of the server's
	}
	h.mu.Lock()
	h.counts[kind+" "+outcome]++
	h.mu.Unlock()
	if outcome == "503" {
		// What a well-behaved sender does with Retry-After: 1; a hostile
		// one gains nothing by coming back sooner, as it is refused again.
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// probe asks for the health check every healthInterval, as a load
// balancer would, and records how long each answer took.
func (h *hostile) probe(ctx context.Context) {
	hc := &http.Client{Timeout: 10 * time.Second}
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		began := time.Now()
		resp, err := hc.Get(h.api.base + "/api/v1/health")
		took := time.Since(began)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return
		}
		h.health.Record(took)
		if err != nil || resp.StatusCode/100 != 2 {
			h.failed++
		}
		if took > time.Second {
			h.slow++
		}
	}
}

// hostileBodies returns a JSON object and a JSON array of about
// hostileBodySize bytes, made of many small members, the costliest shape to
// decode into Go values.
func hostileBodies() (object, array []byte) {
	var o, a bytes.Buffer
	o.WriteString(`{"type":"hostile.flood"`)
	a.WriteString(`[`)
	for i := 0; o.Len() < hostileBodySize-64; i++ {
		fmt.Fprintf(&o, `,"k%d":{"a":%d,"b":[true,null]}`, i, i)
	}
	for i := 0; a.Len() < hostileBodySize-64; i++ {
		if i > 0 {
			a.WriteByte(',')
		}
		fmt.Fprintf(&a, `{"a":%d,"b":[true,null]}`, i)
	}
	o.WriteString(`}`)
	a.WriteString(`]`)
	return o.Bytes(), a.Bytes()
}

// deepPayload is a message whose payload nests hostileDepth arrays.
func deepPayload() []byte {
	var b bytes.Buffer
	b.WriteString(`{"eventType":"hostile.deep","payload":{"x":`)
	b.WriteString(strings.Repeat("[", hostileDepth))
	b.WriteString(strings.Repeat("]", hostileDepth))
	b.WriteString(`}}`)
	return b.Bytes()
}
