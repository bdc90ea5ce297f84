package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

const (
	// failLogInterval is how often at most a failed attempt to one
	// endpoint is logged: an endpoint that is down fails every delivery
	// sent to it, and the log needs one line to show it, not one per
	// delivery.
	failLogInterval = time.Minute
	// failLogEndpoints bounds how many endpoints the rate limit of those
	// lines remembers at once.
	failLogEndpoints = 4096
)

// failLog writes the log lines of failed attempts, at most one per
// endpoint per interval; each line counts the failures to its endpoint
// left out since the one before. It remembers at most max endpoints: once
// full, it forgets those whose last line is older than the interval, and
// while none is, the endpoints it has no room for share one limit.
type failLog struct {
	log   *slog.Logger
	now   func() time.Time
	every time.Duration
	max   int

	mu        sync.Mutex
	endpoints map[string]*failCount
	// others is the limit of the endpoints there was no room for.
	others    failCount
	lastSweep time.Time
}

// failCount is the state of one endpoint's lines.
type failCount struct {
	logged  time.Time // when its last line was written
	skipped int       // failures left out since then
}

func newFailLog(log *slog.Logger, now func() time.Time) *failLog {
	return &failLog{log: log, now: now, every: failLogInterval, max: failLogEndpoints, endpoints: make(map[string]*failCount)}
}

// allow reports whether a failure to the endpoint is to be logged now, and
// how many were left out before it.
func (l *failLog) allow(ctx context.Context, endpointID string) (bool, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.endpoints[endpointID]
	if c == nil {
		if len(l.endpoints) >= l.max && now.Sub(l.lastSweep) >= l.every {
			l.sweep(ctx, now)
		}
		if len(l.endpoints) < l.max {
			c = &failCount{}
			l.endpoints[endpointID] = c
		} else {
			c = &l.others
		}
	}
	if !c.logged.IsZero() && now.Sub(c.logged) < l.every {
		c.skipped++
		return false, 0
	}
	skipped := c.skipped
	c.logged, c.skipped = now, 0
	return true, skipped
}

// sweep forgets the endpoints whose last line is older than the interval,
// first logging the failures left out since, which would otherwise wait
// for that endpoint's next failure. l.mu is held.
func (l *failLog) sweep(ctx context.Context, now time.Time) {
	l.lastSweep = now
	for id, c := range l.endpoints {
		if now.Sub(c.logged) < l.every {
			continue
		}
		if c.skipped > 0 {
			l.log.LogAttrs(ctx, slog.LevelWarn, "delivery attempts failed", slog.String("endpoint_id", id),
				slog.Int("skipped", c.skipped), slog.Time("since", c.logged.UTC()))
		}
		delete(l.endpoints, id)
	}
}

// failed logs a failed attempt, unless the endpoint's line for the
// interval is written already. The line names the app, endpoint and
// message, the attempt's number, and the status code or, when no
// response came, what happened; never the payload, the URL or headers,
// which may hold secrets, or the response.
func (l *failLog) failed(ctx context.Context, res *store.Result) {
	dl, a := &res.Delivery, res.Attempt
	ok, skipped := l.allow(ctx, dl.EndpointID)
	if !ok {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("app_id", dl.AppID),
		slog.String("endpoint_id", dl.EndpointID),
		slog.String("msg_id", dl.MessageID),
		slog.Int("attempt", dl.Attempts))
	if a.StatusCode != 0 {
		attrs = append(attrs, slog.Int("status_code", a.StatusCode))
	} else {
		attrs = append(attrs, slog.String("err", a.Error))
	}
	if dl.Status == hookline.StatusPending {
		attrs = append(attrs, slog.Time("next_attempt", dl.NextAttempt.UTC()))
	} else {
		attrs = append(attrs, slog.Bool("final", true))
	}
	if skipped > 0 {
		attrs = append(attrs, slog.Int("skipped", skipped))
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, "delivery attempt failed", attrs...)
}
