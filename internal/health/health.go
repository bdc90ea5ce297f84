// Package health answers the probes of a hookline node. Liveness says that
// the process serves HTTP, and nothing more: a probe that restarts the
// process on failure must not fail for a fault that a restart cannot mend,
// such as a full disk. Readiness says whether the node can take work now:
// its database reachable, no write refused for want of space since the
// last write that succeeded, and, on a database shared by several nodes,
// its heartbeat recent (the other nodes count a node gone whose heartbeat
// is older than its TTL).
//
// Readiness is worked out at most once per CacheFor, however many probes
// come, so that a flood of probes costs the database one cheap query a
// second.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/internal/store"
)

// Options configure a Checker. The zero value of a field means its default.
type Options struct {
	// Store is checked by a ping and for refused writes; nil checks none.
	Store store.Checker
	// Heartbeat returns when the node last beat its heartbeat successfully;
	// nil for a node in no cluster.
	Heartbeat func() time.Time
	// HeartbeatTTL is how old the last heartbeat may be before the node
	// counts as gone to the others, and as not ready here. Default 20s.
	HeartbeatTTL time.Duration
	// FaultWindow is how long a write refused for want of space keeps the
	// node not ready, unless a write succeeds meanwhile. Default 15s.
	FaultWindow time.Duration
	// CacheFor is how long an answer is reused. Default 1s.
	CacheFor time.Duration
	// PingTimeout bounds the store's ping. Default 800ms, so that a probe
	// with a 1 s timeout gets an answer.
	PingTimeout time.Duration
	// Now tells the time. Default time.Now.
	Now func() time.Time
	// Logger receives the changes of readiness, with their causes.
	// Default: discard.
	Logger *slog.Logger
}

// Checker works out a node's readiness.
type Checker struct {
	opts Options

	// check serializes the work; mu guards the last answer.
	check  sync.Mutex
	mu     sync.Mutex
	last   Report
	lastAt time.Time
	done   bool
}

// New returns a Checker.
func New(opts Options) *Checker {
	if opts.HeartbeatTTL <= 0 {
		opts.HeartbeatTTL = 20 * time.Second
	}
	if opts.FaultWindow <= 0 {
		opts.FaultWindow = 15 * time.Second
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = time.Second
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 800 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{opts: opts}
}

// Check names one part of readiness.
const (
	CheckStore     = "store"     // the database answers
	CheckWrites    = "writes"    // no write refused for want of space since the last that succeeded
	CheckHeartbeat = "heartbeat" // the node's heartbeat is recent
)

// Report is the readiness of a node: each part checked, with "ok" or what
// is wrong with it.
type Report struct {
	Checks map[string]string
	// Failing names the parts that are not ok, in a fixed order.
	Failing []string
	// causes are the errors behind failing parts, for the log only: they
	// may name the database's host and user.
	causes map[string]error
}

// Ready reports whether every part is ok.
func (r Report) Ready() bool { return len(r.Failing) == 0 }

// Ready works out the node's readiness, or returns the last answer if it
// is more recent than CacheFor.
func (c *Checker) Ready(ctx context.Context) Report {
	if r, ok := c.cached(); ok {
		return r
	}
	c.check.Lock()
	defer c.check.Unlock()
	// Another probe may have done the work while this one waited.
	if r, ok := c.cached(); ok {
		return r
	}
	r := c.run(ctx)
	c.mu.Lock()
	prev, had := c.last, c.done
	c.last, c.lastAt, c.done = r, c.opts.Now(), true
	c.mu.Unlock()
	if !had || prev.Ready() != r.Ready() || strings.Join(prev.Failing, ",") != strings.Join(r.Failing, ",") {
		if r.Ready() {
			if had {
				c.opts.Logger.Info("node ready")
			}
		} else {
			args := []any{"failing", strings.Join(r.Failing, ",")}
			for _, name := range r.Failing {
				args = append(args, name, r.Checks[name])
				if err := r.causes[name]; err != nil {
					args = append(args, name+"_err", err)
				}
			}
			c.opts.Logger.Warn("node not ready", args...)
		}
	}
	return r
}

func (c *Checker) cached() (Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done && c.opts.Now().Sub(c.lastAt) < c.opts.CacheFor {
		return c.last, true
	}
	return Report{}, false
}

// run checks every part.
func (c *Checker) run(ctx context.Context) Report {
	r := Report{Checks: map[string]string{}, causes: map[string]error{}}
	set := func(name, problem string, cause error) {
		if problem == "" {
			r.Checks[name] = "ok"
			return
		}
		r.Checks[name] = problem
		r.Failing = append(r.Failing, name)
		r.causes[name] = cause
	}
	if st := c.opts.Store; st != nil {
		// The ping runs to its own deadline even if this probe goes away:
		// the probes waiting behind it get its answer.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.PingTimeout)
		err := st.Ping(pctx)
		cancel()
		if err != nil {
			set(CheckStore, "the database does not answer", err)
		} else {
			set(CheckStore, "", nil)
		}
		at, err := st.WriteFault()
		if age := c.opts.Now().Sub(at); err != nil && age < c.opts.FaultWindow {
			set(CheckWrites, fmt.Sprintf("a write was refused for want of space %s ago and none has succeeded since", age.Round(time.Second)), err)
		} else {
			set(CheckWrites, "", nil)
		}
	}
	if c.opts.Heartbeat != nil {
		last := c.opts.Heartbeat()
		switch age := c.opts.Now().Sub(last); {
		case last.IsZero():
			set(CheckHeartbeat, "the node has not beaten its heartbeat yet", nil)
		case age > c.opts.HeartbeatTTL:
			set(CheckHeartbeat, fmt.Sprintf("the node's last heartbeat was %s ago, more than %s: the other nodes count it gone", age.Round(time.Second), c.opts.HeartbeatTTL), nil)
		default:
			set(CheckHeartbeat, "", nil)
		}
	}
	return r
}

// notReady is the body of a 503 from the readiness probe.
type notReady struct {
	Code   string            `json:"code"`
	Detail string            `json:"detail"`
	Checks map[string]string `json:"checks"`
}

// ServeReady answers the readiness probe: 204 when the node can take
// work, else 503 with a JSON body that names each failing part.
func (c *Checker) ServeReady(w http.ResponseWriter, r *http.Request) {
	rep := c.Ready(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	if rep.Ready() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	details := make([]string, len(rep.Failing))
	for i, name := range rep.Failing {
		details[i] = name + ": " + rep.Checks[name]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(notReady{Code: "not_ready", Detail: strings.Join(details, "; "), Checks: rep.Checks})
}

// ServeLive answers the liveness probe: 204 as long as the process serves
// HTTP.
func ServeLive(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// Routes are the probes' routes, as the REST API serves them, for a node
// that serves nothing else (a worker): /api/v1/health and
// /api/v1/health/ping (readiness), /api/v1/health/live (liveness), for GET
// and HEAD.
func (c *Checker) Routes() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/v1/health", "/api/v1/health/ping", "/api/v1/health/live"} {
		h := c.ServeReady
		if strings.HasSuffix(p, "/live") {
			h = ServeLive
		}
		// GET patterns match HEAD too; the API takes a trailing slash too.
		mux.HandleFunc("GET "+p, h)
		mux.HandleFunc("GET "+p+"/{$}", h)
	}
	return mux
}
