package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/api"
	"github.com/hookline/hookline/internal/config"
	"github.com/hookline/hookline/internal/dispatch"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/inflight"
	"github.com/hookline/hookline/internal/metrics"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/tracing"
	"github.com/hookline/hookline/internal/web"
	"github.com/spf13/cobra"
)

// tokenHashSetting names the setting that keeps the generated admin
// token's SHA-256; the token itself is never stored.
const tokenHashSetting = "admin_token_sha256"

// requestMemoryWait is how long a request waits for room under
// --request-memory before it is answered 503: long enough to ride out a
// burst of large bodies, short enough that the client's retry comes soon.
const requestMemoryWait = 2 * time.Second

func serveCommand(getenv func(string) string) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hookline server: the REST API and the delivery engine",
		Long: `Run the hookline server: the REST API and the delivery engine.

With no flags it keeps its data in ./hookline.db (SQLite, created if missing)
and listens on 127.0.0.1:8071. The API's bearer token is HOOKLINE_ADMIN_TOKEN
if set; otherwise one is generated on first start and printed once.

With --db postgres://... several nodes share one database: each claims due
deliveries under a lease, wakes the others when it publishes, and one of
them, elected through the database, does the upkeep. --role api or --role
worker splits the API from delivery: inbound receive URLs go with the API,
command runs with delivery. Give every node the same HOOKLINE_ADMIN_TOKEN
and --config.

Every node answers health probes on its --addr, a worker only those:
GET /api/v1/health is readiness (204, or 503 with a JSON body naming what
fails: the database, a write refused for want of space, the heartbeat) and
GET /api/v1/health/live is liveness (204 while the process serves).
Every node also serves GET /metrics there, in Prometheus's format and
without a token, unless --metrics=false.

Traces are exported over OTLP when the standard OpenTelemetry variables
ask for them: OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) set, or
OTEL_TRACES_EXPORTER=otlp. OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER,
OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf or grpc) and OTEL_SDK_DISABLED
are honoured; see docs/observability.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.LoadEnv(cmd.Flags(), getenv); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			tuneCollector(cfg, getenv)
			return serve(cmd.Context(), cfg, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.Bind(cmd.Flags())
	return cmd
}

// tuneCollector sets how Go's garbage collector runs, unless GOGC and
// GOMEMLIMIT say otherwise. The live heap is small and short-lived garbage
// is most of what a busy server allocates: collecting less often saves CPU
// for a few more megabytes. The memory limit keeps that from letting the
// heap grow without end under a flood of large requests: near it the
// collector runs as often as it must.
func tuneCollector(cfg config.Config, getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" && cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
}

func migrateCommand(getenv func(string) string) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long: `Apply pending database migrations and exit. "hookline serve" also applies
them at start; on PostgreSQL an advisory lock lets one node migrate while
the others wait, so nodes of a new version may start together.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.LoadEnv(cmd.Flags(), getenv); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), cfg.DB, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date\n", describeDB(cfg.DB))
			return st.Close()
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file or postgres:// URL (env HOOKLINE_DB)")
	return cmd
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the server until ctx ends, then shuts down gracefully: stop
// taking requests, commit what was accepted, let in-flight deliveries
// finish (bounded by the shutdown timeout), and close the store.
//
// What runs depends on the role: the API, the inbound receive URLs and the
// group commit on api and all nodes; the dispatcher, the command runner,
// the listener for other nodes' publishes and the upkeep on worker and all
// nodes. Every node answers the health probes on its address; a worker
// serves nothing else there.
//
// When the OTEL_* variables (read with getenv) turn tracing on, the API,
// the publishes, the receive URLs and the delivery attempts are spans,
// and the spans not exported yet are flushed last of all at shutdown.
func serve(ctx context.Context, cfg config.Config, getenv func(string) string, stdout, stderr io.Writer) error {
	start := time.Now()
	if err := checkRole(cfg); err != nil {
		return err
	}
	if cfg.NodeID == "" {
		cfg.NodeID = newNodeID()
	}
	log := newLogger(cfg, stderr).With("node_id", cfg.NodeID)
	tracer, err := tracing.New(ctx, getenv, tracing.Options{Version: version, Logger: log})
	if err != nil {
		return err
	}
	// Flushed last, so that the spans of the shutdown's last deliveries
	// go out too.
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := tracer.Shutdown(flushCtx); err != nil {
			log.Error("flush traces", "err", err)
		}
	}()
	st, err := openNodeStore(ctx, cfg.DB, cfg.NodeID, log)
	if err != nil {
		return err
	}
	defer st.Close()
	n, queue, err := joinCluster(ctx, cfg, st, log)
	if err != nil {
		return err
	}

	// Only a *Metrics that is not nil goes into the interfaces that count:
	// a nil pointer in an interface is not a nil interface.
	var (
		m               *metrics.Metrics
		apiMetrics      api.Metrics
		dispatchMetrics dispatch.Metrics
		inboundMetrics  inbound.Metrics
	)
	var history web.History
	if cfg.Metrics {
		m = newMetrics(cfg, st, log)
		apiMetrics, dispatchMetrics, inboundMetrics = m, m, m
		// The console's charts: the counters, read once a minute.
		h := m.NewHistory(nil)
		historyCtx, stopHistory := context.WithCancel(context.WithoutCancel(ctx))
		historyDone := make(chan struct{})
		go func() {
			defer close(historyDone)
			h.Run(historyCtx)
		}()
		defer func() {
			stopHistory()
			<-historyDone
		}()
		history = h
	}

	var (
		d    *dispatch.Dispatcher
		wake = func() {}
	)
	// Operational events go to the operator's endpoints through the store
	// as messages; a dispatcher wakes for them as for any publish.
	events := opwebhook.New(opwebhook.Options{Store: st, Wake: func() { wake() }, Logger: log})
	if cfg.Role != "api" {
		client := dispatch.NewClient(netguard.Dialer(cfg.AllowPrivateNetworks, 10*time.Second), cfg.RequestTimeout)
		// A store that takes several writers (PostgreSQL) takes the
		// results as it takes the publishes.
		flushWriters := 1
		if cc, ok := st.(store.ConcurrentCreator); ok {
			flushWriters = cc.Writers()
		}
		d = dispatch.New(queue, dispatch.Options{
			FlushWriters: flushWriters,
			Schedule:     cfg.RetrySchedule,
			Timeout:      cfg.RequestTimeout,
			Lease:        cfg.Lease,
			Workers:      cfg.Workers,
			MaxHeldBytes: cfg.DeliveryMemory,
			DisableAfter: cfg.DisableAfter,
			Client:       client,
			Logger:       log,
			UserAgent:    userAgent(cfg.NodeID),
			Metrics:      dispatchMetrics,
			Tracer:       tracer.Tracer(),
			Events:       events,
		})
		wake = d.Wake
	}

	file, err := loadServerFile(cfg.ConfigFile)
	if err != nil {
		return err
	}
	hc := n.health(st, log)
	var (
		srv     *http.Server
		ln      net.Listener
		commits *store.GroupCommit
		in      *inbound.Service
	)
	if cfg.Role != "worker" {
		tokenHash, err := adminTokenHash(ctx, st, cfg.AdminToken, stdout)
		if err != nil {
			return err
		}
		// An api node wakes no dispatcher of its own: PostgreSQL tells the
		// workers at commit. Elsewhere the publishes hand their deliveries
		// to the dispatcher.
		var deliverer store.Deliverer
		if d != nil {
			deliverer = n.deliverer(d)
		}
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w (is another server using the port? choose one with --addr)", cfg.Addr, err)
		}
		publicURL := cfg.PublicURL
		if publicURL == "" {
			publicURL = "http://" + ln.Addr().String()
		}
		if ist, ok := st.(inbound.Store); ok {
			in = inbound.New(inbound.Options{Store: ist, PublicURL: publicURL, Commands: file.Commands, Wake: wake, Logger: log,
				Bodies:               inflight.New(cfg.RequestMemory, requestMemoryWait),
				AllowPrivateNetworks: cfg.AllowPrivateNetworks, Metrics: inboundMetrics, Events: events, Tracer: tracer.Tracer()})
		}
		commits = store.NewGroupCommit(st, 512, deliverer)
		apiHandler := api.New(api.Options{
			Store:        st,
			Publisher:    commits,
			Inbound:      in,
			TokenHash:    tokenHash,
			PublicURL:    publicURL,
			MaxBodyBytes: cfg.MaxBodyBytes,
			Bodies:       inflight.New(cfg.RequestMemory, requestMemoryWait),
			Pages:        inflight.New(cfg.RequestMemory, requestMemoryWait),
			Logger:       log,
			Wake:         wake,
			Health:       hc,
			Metrics:      apiMetrics,
			Tracer:       tracer.Tracer(),
			Events:       events,

			AllowPrivateNetworks: cfg.AllowPrivateNetworks,
		})
		portal, err := web.New(web.Options{Store: st, PublicURL: publicURL, FrameAncestors: cfg.PortalFrameAncestors,
			AllowPrivateNetworks: cfg.AllowPrivateNetworks, Logger: log, Publisher: commits, Wake: wake, AdminTokenHash: tokenHash,
			Events: events, History: history, NodeID: cfg.NodeID, Inbound: in,
			Brand: web.Brand{Name: cfg.PortalName, LogoURL: cfg.PortalLogoURL, Color: cfg.PortalColor, Theme: cfg.PortalTheme}})
		if err != nil {
			ln.Close()
			commits.Stop()
			return err
		}
		srv = httpServer(withMetrics(nodeHandler(apiHandler, portal, in), m), log)
		if in != nil {
			srv.RegisterOnShutdown(in.EndStreams)
		}
	} else {
		// A worker serves no API, but answers the health probes on its
		// own address, so that it can be probed as any node is.
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w (a worker answers health probes there; give each worker on a host its own --addr)", cfg.Addr, err)
		}
		srv = httpServer(withMetrics(hc.Routes(), m), log)
		if ist, ok := st.(inbound.Store); ok {
			// A worker serves no receive URLs, but runs the command runs
			// that api nodes queue.
			in = inbound.New(inbound.Options{Store: ist, PublicURL: cfg.PublicURL, Commands: file.Commands, Wake: wake, Logger: log})
		}
	}
	abort := func() {
		ln.Close()
		if commits != nil {
			commits.Stop()
		}
		events.Stop(context.WithoutCancel(ctx))
	}
	if err := events.Start(context.WithoutCancel(ctx)); err != nil {
		abort()
		return err
	}
	if d != nil {
		if err := d.Start(context.WithoutCancel(ctx)); err != nil {
			abort()
			return err
		}
	}
	// Command runs belong with delivery: an api node only queues them, for
	// the workers' runners to claim.
	if in != nil && cfg.Role != "api" {
		if err := in.Start(context.WithoutCancel(ctx)); err != nil {
			abort()
			return err
		}
	}
	if err := n.start(context.WithoutCancel(ctx), cfg, st, wake, events, log); err != nil {
		abort()
		return err
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			abort()
			return err
		}
		defer stopDebug()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.Role != "worker" {
		log.Info("hookline listening", "addr", ln.Addr().String(), "db", describeDB(cfg.DB), "role", cfg.Role, "startup_ms", time.Since(start).Milliseconds())
		fmt.Fprintf(stdout, "hookline %s listening on http://%s (node %s)\n", version, ln.Addr(), cfg.NodeID)
	} else {
		log.Info("hookline worker running", "addr", ln.Addr().String(), "db", describeDB(cfg.DB), "role", cfg.Role, "startup_ms", time.Since(start).Milliseconds())
		fmt.Fprintf(stdout, "hookline %s worker running, health probes listening on http://%s (node %s)\n", version, ln.Addr(), cfg.NodeID)
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		log.Error("http server stopped", "err", err)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop http server: %w", err))
	}
	if commits != nil {
		commits.Stop()
	}
	if in != nil {
		if err := in.Stop(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("stop command runner: %w", err))
		}
	}
	if err := n.stop(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("leave cluster: %w", err))
	}
	if d != nil {
		if err := d.Stop(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("stop dispatcher: %w", err))
		}
	}
	// Last, for the events of the deliveries the dispatcher finished.
	if err := events.Stop(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("publish the last operational events: %w", err))
	}
	return errors.Join(errs...)
}

// httpServer returns the server of a node's listener, with the timeouts
// and limits that bound what one client can hold.
func httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// adminTokenHash returns the SHA-256 of the API's admin token: of the
// configured one, or of one generated and printed on first start.
// When HOOKLINE_ADMIN_TOKEN is set over a generated token, it says which
// of the two works, since the generated one was printed and may be in use.
func adminTokenHash(ctx context.Context, st store.Store, configured string, out io.Writer) ([]byte, error) {
	stored, err := st.SettingGet(ctx, tokenHashSetting)
	if err != nil && !errors.Is(err, hookline.ErrNotFound) {
		return nil, err
	}
	generated := err == nil
	if configured != "" {
		sum := sha256.Sum256([]byte(configured))
		if generated && stored != hex.EncodeToString(sum[:]) {
			fmt.Fprintf(out, "HOOKLINE_ADMIN_TOKEN is set, so it is the admin API token: the token generated earlier for this database (at first start or by \"hookline token reset\") does not work while it is set.\n\n")
		}
		return sum[:], nil
	}
	if generated {
		return decodeTokenHash(stored)
	}
	token, sum := newAdminToken()
	mine := hex.EncodeToString(sum[:])
	// Nodes starting at once on a new database each generate a token; the
	// first one stored is the token, and only the node that made it
	// prints it.
	stored, err = st.SettingInit(ctx, tokenHashSetting, mine)
	if err != nil {
		return nil, err
	}
	if stored != mine {
		fmt.Fprintf(out, "Another node starting at the same time generated the admin API token and printed it, only once, in its own output; this node uses that token. To choose your own, set HOOKLINE_ADMIN_TOKEN.\n\n")
		return decodeTokenHash(stored)
	}
	fmt.Fprintf(out, "Generated an admin API token. It is shown only this once; hookline keeps only its hash:\n\n    %s\n\nUse it as \"Authorization: Bearer <token>\". To choose your own, set HOOKLINE_ADMIN_TOKEN.\n\n", token)
	return sum[:], nil
}

// newAdminToken returns a new admin token and its SHA-256.
func newAdminToken() (string, [sha256.Size]byte) {
	token := "hk_" + rand.Text() + rand.Text()
	return token, sha256.Sum256([]byte(token))
}

// decodeTokenHash reads the admin token hash as the settings keep it.
func decodeTokenHash(stored string) ([]byte, error) {
	sum, err := hex.DecodeString(stored)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("stored admin token hash is damaged; set HOOKLINE_ADMIN_TOKEN to choose a token")
	}
	return sum, nil
}

// newMetrics returns the node's metrics, which read the backlog gauges
// from st when it can.
func newMetrics(cfg config.Config, st store.Store, log *slog.Logger) *metrics.Metrics {
	opts := metrics.Options{SourceLabels: cfg.MetricsSourceLabels, Logger: log}
	if opts.SourceLabels == 0 {
		opts.SourceLabels = -1 // none of their own, where 0 means the default
	}
	if g, ok := st.(store.Gauger); ok {
		opts.Gauges = g
	}
	return metrics.New(opts)
}

// withMetrics serves GET /metrics with m and every other path with h. It
// asks no token, as the health probes do not: Prometheus scrapes without
// one by default, and the figures name no app, endpoint or payload.
func withMetrics(h http.Handler, m *metrics.Metrics) http.Handler {
	if m == nil {
		return h
	}
	serve := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			serve.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// nodeHandler serves the receive URLs (/in/...) with in, when there is
// one, the portal's pages (/portal/...) with portal, and every other path
// with the API. It is not an http.ServeMux, which answers a path with "."
// or ".." segments or doubled slashes by redirecting to its cleaned form,
// another resource, before either handler could refuse it.
func nodeHandler(apiHandler, portal http.Handler, in *inbound.Service) http.Handler {
	var receive http.Handler
	if in != nil {
		receive = in.Handler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		switch {
		case receive != nil && strings.HasPrefix(p, "/in/"):
			receive.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/portal/"), strings.HasPrefix(p, "/console/"), p == "/console":
			portal.ServeHTTP(w, r)
		default:
			apiHandler.ServeHTTP(w, r)
		}
	})
}

// Sampling rates of the mutex and block profiles while the profiler is
// served: one contention event in mutexProfileFraction, and on average one
// blocking event per blockProfileRate nanoseconds spent blocked. Both cost
// little at these rates; they show where goroutines wait, such as on the
// single SQLite writer, which CPU profiles do not.
const (
	mutexProfileFraction = 100
	blockProfileRate     = 100_000
)

// serveDebug serves Go's profiler on its own listener, apart from the API
// and its auth: operators reach it from the machine itself. It turns on
// the mutex and block profiles, which are off otherwise.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --debug-addr %s: %w", addr, err)
	}
	runtime.SetMutexProfileFraction(mutexProfileFraction)
	runtime.SetBlockProfileRate(blockProfileRate)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server stopped", "err", err)
		}
	}()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() {
		srv.Close()
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
	}, nil
}
