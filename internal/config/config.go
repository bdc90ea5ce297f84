// Package config holds the settings of a hookline server: their defaults,
// their validation, and their names as flags and environment variables.
// Flags win over the environment, which wins over the defaults.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Config is the configuration of `hookline serve`.
type Config struct {
	// Addr is the address the API listens on; a worker serves only the
	// health probes there.
	Addr string
	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) there, on
	// a listener of its own that should stay on loopback.
	DebugAddr string
	// DB is where the data lives: a SQLite file path, or a postgres:// URL
	// for a database that several nodes share.
	DB string
	// PublicURL is the base URL users and senders reach this server at:
	// inbound receive URLs start with it. Empty means http://<addr>.
	PublicURL string
	// PortalFrameAncestors is the portal's CSP frame-ancestors: the
	// origins whose pages may show the portal in an iframe. Empty means
	// 'self'.
	PortalFrameAncestors string
	// PortalName, PortalLogoURL, PortalColor and PortalTheme brand the
	// portal for every app; an app's metadata may set its own.
	PortalName, PortalLogoURL, PortalColor, PortalTheme string
	// ConfigFile is the server's JSON config file, for what only the
	// operator may define (inbound commands).
	ConfigFile string
	// AllowPrivateNetworks lets deliveries reach loopback, private and
	// link-local addresses; off by default so that customers' endpoint URLs
	// cannot probe the operator's network.
	AllowPrivateNetworks bool
	// AdminToken, when set, is the API's bearer token; when empty a token is
	// generated on first start and only its hash is kept.
	AdminToken string
	// MaxBodyBytes bounds API request bodies.
	MaxBodyBytes int64
	// RequestTimeout bounds each delivery request.
	RequestTimeout time.Duration
	// RetrySchedule is the delay before each attempt, the first usually 0.
	RetrySchedule []time.Duration
	// DisableAfter disables an endpoint that has failed for this long with
	// no success.
	DisableAfter time.Duration
	// Workers is the most deliveries in flight at once.
	Workers int
	// DeliveryMemory bounds the payload bytes of the deliveries a node
	// holds in memory, waiting or in flight, each message counted once.
	DeliveryMemory int64
	// RequestMemory bounds the bytes a node holds at once for requests:
	// the bodies being received, the API's request bodies, and the API's
	// list pages of payloads, bodies and responses, each. A request beyond
	// it waits briefly, then is answered 503 with Retry-After.
	RequestMemory int64
	// MemoryLimit is the Go runtime's soft memory limit, in bytes: near
	// it the collector works harder instead of letting the heap grow. 0
	// sets none; GOMEMLIMIT, when set, wins.
	MemoryLimit int64
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// Role is what this process does: "all" (the default), "api" (serve
	// the API and publish) or "worker" (deliver and do the upkeep), so
	// that API and delivery can scale apart on PostgreSQL.
	Role string
	// NodeID names this process among the nodes sharing a database, in its
	// logs and in the User-Agent of its deliveries; empty means generated.
	NodeID string
	// Lease is how long a claimed delivery stays with the node that claimed
	// it. A node that dies delays its unsent deliveries by up to this long;
	// the dispatcher raises it to 4 × RequestTimeout if it is shorter, so
	// that a slow request is not taken for a dead node's.
	Lease time.Duration
	// Retention is how long message payloads and attempt response bodies
	// are kept; 0 keeps them for ever.
	Retention time.Duration
	// LogFormat is "text" or "json"; LogLevel is debug, info, warn or error.
	LogFormat string
	LogLevel  string
	// Metrics serves GET /metrics, in Prometheus's format, on Addr, and
	// counts what the node does; off, nothing is counted.
	Metrics bool
	// MetricsSourceLabels is how many sources get a label of their own on
	// the inbound request counter, the first to send since start; the
	// others are counted together as "other". 0 gives none its own.
	MetricsSourceLabels int
}

// Default returns the configuration `hookline serve` runs with when given
// no flags or environment.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8071",
		DB:              "hookline.db",
		MaxBodyBytes:    1 << 20,
		RequestTimeout:  15 * time.Second,
		RetrySchedule:   []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		DisableAfter:    5 * 24 * time.Hour,
		Workers:         256,
		DeliveryMemory:  64 << 20,
		RequestMemory:   32 << 20,
		MemoryLimit:     384 << 20,
		ShutdownTimeout: 30 * time.Second,
		Role:            "all",
		Lease:           2 * time.Minute,
		Retention:       30 * 24 * time.Hour,
		LogFormat:       "text",
		LogLevel:        "info",

		Metrics:             true,
		MetricsSourceLabels: 50,
	}
}

// Validate checks that the configuration can run, and says which setting
// to fix when it cannot.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: want host:port, such as 127.0.0.1:8071", c.Addr))
	}
	if c.DB == "" {
		errs = append(errs, errors.New("--db: give a SQLite file path, such as hookline.db, or a postgres:// URL"))
	} else if strings.Contains(c.DB, "://") && !IsPostgres(c.DB) {
		errs = append(errs, fmt.Errorf("--db %q: give a SQLite file path or a postgres://user@host:5432/database URL", redactURL(c.DB)))
	}
	switch c.Role {
	case "all", "api", "worker":
	default:
		errs = append(errs, fmt.Errorf("--role %q: want all, api or worker", c.Role))
	}
	if c.NodeID != "" && (len(c.NodeID) > 64 || strings.Trim(c.NodeID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "") {
		errs = append(errs, fmt.Errorf("--node-id %q: use 1 to 64 characters of a-z, A-Z, 0-9, '-', '_' or '.'", c.NodeID))
	}
	if c.Lease <= 0 {
		errs = append(errs, errors.New("--lease: must be positive"))
	}
	if c.Retention < 0 || (c.Retention > 0 && c.Retention < time.Hour) {
		errs = append(errs, fmt.Errorf("--retention %s: use at least 1h, or 0 to keep payloads for ever", c.Retention))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url %q: want an absolute http(s) URL, such as https://hooks.example.com", c.PublicURL))
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("HOOKLINE_ADMIN_TOKEN: use at least 16 characters"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("--max-body-bytes %d: use at least 1024", c.MaxBodyBytes))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("--request-timeout: must be positive"))
	}
	if len(c.RetrySchedule) == 0 {
		errs = append(errs, errors.New("--retry-schedule: give at least one delay, such as 0s"))
	}
	for _, d := range c.RetrySchedule {
		if d < 0 {
			errs = append(errs, errors.New("--retry-schedule: delays must not be negative"))
			break
		}
	}
	if c.DisableAfter <= 0 {
		errs = append(errs, errors.New("--disable-after: must be positive"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("--workers: must be at least 1"))
	}
	if c.DeliveryMemory < 1<<20 {
		errs = append(errs, fmt.Errorf("--delivery-memory %d: use at least 1048576 (1 MiB)", c.DeliveryMemory))
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < 64<<20 {
		errs = append(errs, fmt.Errorf("--memory-limit %d: use 0 (none) or at least 67108864 (64 MiB)", c.MemoryLimit))
	}
	if c.RequestMemory < 1<<20 {
		errs = append(errs, fmt.Errorf("--request-memory %d: use at least 1048576 (1 MiB)", c.RequestMemory))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.MetricsSourceLabels < 0 {
		errs = append(errs, fmt.Errorf("--metrics-source-labels %d: use 0 or more", c.MetricsSourceLabels))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// envNames maps flag names to their environment variables.
var envNames = map[string]string{
	"addr":                   "HOOKLINE_ADDR",
	"debug-addr":             "HOOKLINE_DEBUG_ADDR",
	"db":                     "HOOKLINE_DB",
	"public-url":             "HOOKLINE_PUBLIC_URL",
	"portal-frame-ancestors": "HOOKLINE_PORTAL_FRAME_ANCESTORS",
	"portal-name":            "HOOKLINE_PORTAL_NAME",
	"portal-logo-url":        "HOOKLINE_PORTAL_LOGO_URL",
	"portal-color":           "HOOKLINE_PORTAL_COLOR",
	"portal-theme":           "HOOKLINE_PORTAL_THEME",
	"config":                 "HOOKLINE_CONFIG",
	"allow-private-networks": "HOOKLINE_ALLOW_PRIVATE_NETWORKS",
	"max-body-bytes":         "HOOKLINE_MAX_BODY_BYTES",
	"request-timeout":        "HOOKLINE_REQUEST_TIMEOUT",
	"retry-schedule":         "HOOKLINE_RETRY_SCHEDULE",
	"disable-after":          "HOOKLINE_DISABLE_AFTER",
	"workers":                "HOOKLINE_WORKERS",
	"delivery-memory":        "HOOKLINE_DELIVERY_MEMORY",
	"request-memory":         "HOOKLINE_REQUEST_MEMORY",
	"memory-limit":           "HOOKLINE_MEMORY_LIMIT",
	"shutdown-timeout":       "HOOKLINE_SHUTDOWN_TIMEOUT",
	"role":                   "HOOKLINE_ROLE",
	"node-id":                "HOOKLINE_NODE_ID",
	"lease":                  "HOOKLINE_LEASE",
	"retention":              "HOOKLINE_RETENTION",
	"log-format":             "HOOKLINE_LOG_FORMAT",
	"log-level":              "HOOKLINE_LOG_LEVEL",
	"metrics":                "HOOKLINE_METRICS",
	"metrics-source-labels":  "HOOKLINE_METRICS_SOURCE_LABELS",
}

// Bind defines c's flags on fs, with c's current values as defaults and
// each flag's environment variable named in its help.
func (c *Config) Bind(fs *pflag.FlagSet) {
	help := func(name, text string) string { return text + " (env " + envNames[name] + ")" }
	fs.StringVar(&c.Addr, "addr", c.Addr, help("addr", "address to listen on, host:port; a --role worker node serves only the health probes (/api/v1/health, /api/v1/health/live) there"))
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, help("debug-addr", "serve Go's profiler at /debug/pprof/ on this host:port, with the mutex and block profiles on (keep it on loopback); off when empty"))
	fs.StringVar(&c.DB, "db", c.DB, help("db", "SQLite database file, created if missing, or a postgres:// URL for a database several nodes share"))
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, help("public-url", "base URL this server is reached at by users and senders; receive URLs start with it (default http://<addr>)"))
	fs.StringVar(&c.PortalFrameAncestors, "portal-frame-ancestors", c.PortalFrameAncestors,
		help("portal-frame-ancestors", "who may embed the portal in an iframe: a CSP frame-ancestors list such as \"'self' https://app.example.com\" (default 'self')"))
	fs.StringVar(&c.PortalName, "portal-name", c.PortalName, help("portal-name", "name shown at the top of the portal, such as your product's (default: the app's name)"))
	fs.StringVar(&c.PortalLogoURL, "portal-logo-url", c.PortalLogoURL, help("portal-logo-url", "absolute http(s) URL of a logo shown at the top of the portal"))
	fs.StringVar(&c.PortalColor, "portal-color", c.PortalColor, help("portal-color", "primary colour of the portal, #rrggbb, shaded where needed to stay readable"))
	fs.StringVar(&c.PortalTheme, "portal-theme", c.PortalTheme, help("portal-theme", "light or dark to fix the portal's theme (default: follow the visitor's system)"))
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, help("config", "JSON file with what only the operator defines, such as inbound commands"))
	fs.BoolVar(&c.AllowPrivateNetworks, "allow-private-networks", c.AllowPrivateNetworks,
		help("allow-private-networks", "let deliveries reach loopback, private and link-local addresses (off: refused as endpoint URLs and at connect time)"))
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, help("max-body-bytes", "largest API request body accepted, in bytes"))
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, help("request-timeout", "timeout of each delivery request"))
	fs.DurationSliceVar(&c.RetrySchedule, "retry-schedule", c.RetrySchedule,
		help("retry-schedule", "comma-separated delay before each attempt; its length is the number of attempts"))
	fs.DurationVar(&c.DisableAfter, "disable-after", c.DisableAfter, help("disable-after", "disable an endpoint that has failed this long without a success"))
	fs.IntVar(&c.Workers, "workers", c.Workers, help("workers", "most deliveries in flight at once"))
	fs.Int64Var(&c.DeliveryMemory, "delivery-memory", c.DeliveryMemory,
		help("delivery-memory", "most bytes of message payloads the deliveries held in memory carry, waiting or in flight; beyond it they wait in the database"))
	fs.Int64Var(&c.RequestMemory, "request-memory", c.RequestMemory,
		help("request-memory", "most bytes held at once by the bodies being received, by the API's request bodies, and by the API's list pages of payloads and bodies, each; beyond it a request waits up to 2s, then gets 503 with Retry-After"))
	fs.Int64Var(&c.MemoryLimit, "memory-limit", c.MemoryLimit,
		help("memory-limit", "soft limit of the Go heap in bytes, near which the collector works harder instead of letting memory grow; 0 sets none; GOMEMLIMIT wins"))
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, help("shutdown-timeout", "how long a graceful shutdown waits for in-flight work"))
	fs.StringVar(&c.Role, "role", c.Role, help("role", "what this node does: all, api (serve the API and publish) or worker (deliver and do the upkeep)"))
	fs.StringVar(&c.NodeID, "node-id", c.NodeID, help("node-id", "this node's name in logs and in its deliveries' User-Agent (default: generated)"))
	fs.DurationVar(&c.Lease, "lease", c.Lease, help("lease", "how long a claimed delivery stays with its node; a node that dies delays its deliveries by up to this (at least 4 × --request-timeout)"))
	fs.DurationVar(&c.Retention, "retention", c.Retention, help("retention", "keep message payloads and attempt response bodies this long; 0 keeps them for ever"))
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, help("log-format", "log format: text or json"))
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, help("log-level", "log level: debug, info, warn or error"))
	fs.BoolVar(&c.Metrics, "metrics", c.Metrics, help("metrics", "serve GET /metrics in Prometheus's format on --addr, unauthenticated like the health probes, on every role; false counts nothing"))
	fs.IntVar(&c.MetricsSourceLabels, "metrics-source-labels", c.MetricsSourceLabels,
		help("metrics-source-labels", "how many inbound sources get a source label of their own, the first to send since start; the rest count as \"other\""))
}

// LoadEnv sets every flag of fs that was not given on the command line from
// its environment variable, if set, and reads HOOKLINE_ADMIN_TOKEN (never
// a flag, so the token stays out of process listings).
func (c *Config) LoadEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		env, ok := envNames[f.Name]
		if !ok || f.Changed {
			return
		}
		v := getenv(env)
		if v == "" {
			return
		}
		if f.Value.Type() == "bool" && v != "true" && v != "false" {
			switch v {
			case "1", "yes", "on":
				v = "true"
			case "0", "no", "off":
				v = "false"
			}
		}
		if strings.HasSuffix(f.Value.Type(), "Slice") {
			// A slice flag appends to its default on Set; replace instead.
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				parts := strings.Split(v, ",")
				if err := sv.Replace(parts); err != nil {
					errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
				}
				return
			}
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
		}
	})
	c.AdminToken = getenv("HOOKLINE_ADMIN_TOKEN")
	return errors.Join(errs...)
}

// IsPostgres reports whether db names a PostgreSQL database, a postgres://
// or postgresql:// URL, rather than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// redactURL hides the password of a URL, for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(a URL that does not parse)"
}
