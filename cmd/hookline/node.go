package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/hookline/hookline/internal/buildinfo"
	"github.com/hookline/hookline/internal/cluster"
	"github.com/hookline/hookline/internal/config"
	"github.com/hookline/hookline/internal/dispatch"
	"github.com/hookline/hookline/internal/health"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// openStore opens the store db names: PostgreSQL for a postgres:// URL,
// else a SQLite file.
func openStore(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	return openNodeStore(ctx, db, "", log)
}

// openNodeStore is openStore for the node nodeID of a cluster.
func openNodeStore(ctx context.Context, db, nodeID string, log *slog.Logger) (store.Store, error) {
	if config.IsPostgres(db) {
		return postgres.Open(ctx, db, postgres.Options{Logger: log, NodeID: nodeID})
	}
	return sqlite.Open(ctx, db)
}

// describeDB names a database for messages and logs, without a password.
func describeDB(db string) string {
	if config.IsPostgres(db) {
		return redactURL(db)
	}
	return db
}

// checkRole refuses a split role on SQLite, which serves one process:
// there the one node must do both halves.
func checkRole(cfg config.Config) error {
	if cfg.Role != "all" && !config.IsPostgres(cfg.DB) {
		return fmt.Errorf("--role %s needs a PostgreSQL --db: a SQLite file serves one process, which must be --role all", cfg.Role)
	}
	return nil
}

// newNodeID returns a name for this node: the host name, shortened to what
// a node ID may hold, and a random suffix that tells apart two processes
// on one host.
func newNodeID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	suffix := strings.ToLower(rand.Text()[:6])
	if host == "" {
		return "node-" + suffix
	}
	return host + "-" + suffix
}

// node holds what a hookline process runs beside the API and the
// dispatcher: its heartbeat (on a shared database), the listener that
// wakes its dispatcher when another node publishes, and the upkeep.
type node struct {
	hb           *cluster.Heartbeat
	hk           *cluster.Housekeeper
	stopListen   context.CancelFunc
	listenerDone chan struct{}
}

// joinCluster beats the node's first heartbeat, so that a worker counts its
// peers before it claims anything, and returns the queue its dispatcher
// should use: st itself, or on a shared database st with rate limits split
// between the worker nodes.
func joinCluster(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger) (*node, dispatch.Store, error) {
	n := &node{}
	var q dispatch.Store = st
	if cl, ok := st.(store.Cluster); ok {
		n.hb = cluster.NewHeartbeat(cl, cluster.HeartbeatOptions{
			Node:   store.Node{ID: cfg.NodeID, Worker: cfg.Role != "api"},
			Logger: log,
		})
		if err := n.hb.Beat(ctx); err != nil {
			return nil, nil, err
		}
		q = cluster.ShareRateLimits(st, n.hb.Workers)
	}
	return n, q, nil
}

// health returns the node's readiness check: its store, and on a shared
// database its heartbeat.
func (n *node) health(st store.Store, log *slog.Logger) *health.Checker {
	opts := health.Options{Logger: log}
	if ck, ok := st.(store.Checker); ok {
		opts.Store = ck
	}
	if n.hb != nil {
		opts.Heartbeat, opts.HeartbeatTTL = n.hb.LastBeat, n.hb.TTL()
	}
	return health.New(opts)
}

// deliverer is what publishes hand their deliveries to: d, with rate limits
// shared between the worker nodes as claims share them.
func (n *node) deliverer(d store.Deliverer) store.Deliverer {
	if n.hb == nil {
		return d
	}
	return cluster.ShareDeliveries(d, n.hb.Workers)
}

// start starts the node's background work; wake is the dispatcher's, nil
// on an api node.
func (n *node) start(ctx context.Context, cfg config.Config, st store.Store, wake func(), events cluster.Events, log *slog.Logger) error {
	if n.hb != nil {
		if err := n.hb.Start(ctx); err != nil {
			return err
		}
	}
	if cfg.Role == "api" {
		return nil
	}
	if nt, ok := st.(store.Notifier); ok && wake != nil {
		lctx, cancel := context.WithCancel(ctx)
		n.stopListen, n.listenerDone = cancel, make(chan struct{})
		go func() {
			defer close(n.listenerDone)
			// Listen returns only once ctx ends, and logs its reconnects.
			_ = nt.Listen(lctx, wake)
		}()
	}
	if m, ok := st.(store.Maintainer); ok {
		n.hk = cluster.NewHousekeeper(m, cluster.HousekeeperOptions{
			DisableAfter: cfg.DisableAfter,
			Retention:    cfg.Retention,
			Logger:       log,
			Events:       events,
		})
		if err := n.hk.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// stop ends the background work and takes the node out of the cluster.
func (n *node) stop(ctx context.Context) error {
	var errs []error
	if n.hk != nil {
		errs = append(errs, n.hk.Stop(ctx))
	}
	if n.stopListen != nil {
		n.stopListen()
		select {
		case <-n.listenerDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("stop listener: %w", ctx.Err()))
		}
	}
	if n.hb != nil {
		errs = append(errs, n.hb.Stop(ctx))
	}
	return errors.Join(errs...)
}

// userAgent is the User-Agent of the node's deliveries: it names the node,
// so that a receiver (or a test) can tell which node sent a request.
func userAgent(nodeID string) string {
	return buildinfo.UserAgent() + " node/" + nodeID
}

// redactURL hides the password of a URL.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(a URL that does not parse)"
}
