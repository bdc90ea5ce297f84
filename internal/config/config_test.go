package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestFlagsOverEnvOverDefaults(t *testing.T) {
	env := map[string]string{
		"HOOKLINE_ADDR":                   "127.0.0.1:9000",
		"HOOKLINE_DB":                     "/tmp/from-env.db",
		"HOOKLINE_ALLOW_PRIVATE_NETWORKS": "1",
		"HOOKLINE_RETRY_SCHEDULE":         "0s,1s,2s",
		"HOOKLINE_DELIVERY_MEMORY":        "134217728",
		"HOOKLINE_ADMIN_TOKEN":            "a-token-of-some-length",
	}
	c := Default()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse([]string{"--db", "/tmp/from-flag.db"}); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Addr, want.DB, want.AllowPrivateNetworks = "127.0.0.1:9000", "/tmp/from-flag.db", true
	want.RetrySchedule = []time.Duration{0, time.Second, 2 * time.Second}
	want.AdminToken = "a-token-of-some-length"
	want.DeliveryMemory = 128 << 20
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestBadEnv(t *testing.T) {
	c := Default()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Bind(fs)
	err := c.LoadEnv(fs, func(k string) string {
		if k == "HOOKLINE_WORKERS" {
			return "many"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_WORKERS") {
		t.Errorf("err = %v, want one naming HOOKLINE_WORKERS", err)
	}
}

func TestPostgresURL(t *testing.T) {
	for _, db := range []string{"postgres://u@localhost:5432/db?sslmode=disable", "postgresql://localhost/db"} {
		c := Default()
		c.DB = db
		if err := c.Validate(); err != nil {
			t.Errorf("--db %s: %v", db, err)
		}
	}
	c := Default()
	c.DB = "mysql://user:secretpw@localhost/db"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "secretpw") {
		t.Errorf("err = %v, want one without the password", err)
	}
	c = Default()
	c.Retention = 0
	if err := c.Validate(); err != nil {
		t.Errorf("retention 0 (keep for ever): %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"bad addr", func(c *Config) { c.Addr = "8071" }, "--addr"},
		{"other database", func(c *Config) { c.DB = "mysql://user:pw@localhost/db" }, "--db"},
		{"role", func(c *Config) { c.Role = "both" }, "--role"},
		{"node id", func(c *Config) { c.NodeID = "node 1" }, "--node-id"},
		{"lease", func(c *Config) { c.Lease = 0 }, "--lease"},
		{"retention too short", func(c *Config) { c.Retention = time.Minute }, "--retention"},
		{"bad public url", func(c *Config) { c.PublicURL = "hooks.example.com" }, "--public-url"},
		{"short token", func(c *Config) { c.AdminToken = "short" }, "HOOKLINE_ADMIN_TOKEN"},
		{"empty schedule", func(c *Config) { c.RetrySchedule = nil }, "--retry-schedule"},
		{"negative delay", func(c *Config) { c.RetrySchedule = []time.Duration{-time.Second} }, "--retry-schedule"},
		{"no workers", func(c *Config) { c.Workers = 0 }, "--workers"},
		{"delivery memory under 1 MiB", func(c *Config) { c.DeliveryMemory = 1000 }, "--delivery-memory"},
		{"request memory under 1 MiB", func(c *Config) { c.RequestMemory = 1000 }, "--request-memory"},
		{"memory limit under 64 MiB", func(c *Config) { c.MemoryLimit = 1 << 20 }, "--memory-limit"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "--log-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
