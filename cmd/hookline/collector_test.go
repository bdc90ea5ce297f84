package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/hookline/hookline/internal/config"
)

// TestTuneCollector shows that serve sets the memory limit of
// --memory-limit, and leaves the runtime's own when GOMEMLIMIT is set.
func TestTuneCollector(t *testing.T) {
	gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })

	cfg := config.Default()
	none := func(string) string { return "" }
	debug.SetMemoryLimit(math.MaxInt64)
	tuneCollector(cfg, none)
	if got := debug.SetMemoryLimit(-1); got != cfg.MemoryLimit {
		t.Errorf("memory limit = %d, want --memory-limit's %d", got, cfg.MemoryLimit)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	tuneCollector(cfg, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, the memory limit became %d", got)
	}

	cfg.MemoryLimit = 0
	tuneCollector(cfg, none)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with --memory-limit 0, the memory limit became %d", got)
	}
}
