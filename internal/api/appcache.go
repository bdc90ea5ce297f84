package api

import (
	"sync"
	"time"
)

// appIDCache remembers which app ID an ID or uid in a publish path names,
// for a short while: publishing is the hot path, and a database read per
// message to resolve the same few apps would cost more than the rest of
// the request. A stale entry is harmless for a deleted app (the store
// refuses the message, and the entry is dropped) and lasts at most ttl for
// a uid moved to another app on another node; changes made through this
// node clear the cache at once.
type appIDCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]appIDEntry
}

type appIDEntry struct {
	id      string
	expires time.Time
}

func newAppIDCache(ttl time.Duration, max int) *appIDCache {
	return &appIDCache{ttl: ttl, max: max, m: map[string]appIDEntry{}}
}

// get returns the app ID that key named at most ttl ago.
func (c *appIDCache) get(key string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		return "", false
	}
	return e.id, true
}

// put remembers that key names the app id.
func (c *appIDCache) put(key, id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Many distinct apps: start over rather than track recency.
		clear(c.m)
	}
	c.m[key] = appIDEntry{id: id, expires: now.Add(c.ttl)}
}

// clear forgets everything, after an app was changed or deleted.
func (c *appIDCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
