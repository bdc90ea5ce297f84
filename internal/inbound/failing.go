package inbound

import (
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
)

// A burst of rejected requests is what source.verification_failing
// reports: failingBurst requests to one source that fail verification
// within failingWindow of the first of them. The window starts at a
// rejection when none is open; the event goes out at the burst's last
// request, once per window, so a sender whose every request fails is
// reported at most once per failingWindow. Each node counts the requests
// it receives.
const (
	failingBurst  = 10
	failingWindow = 5 * time.Minute
	// maxFailing bounds the sources counted at once; windows that have
	// ended make room first.
	maxFailing = 10000
)

// Events takes operational events to publish. It must not block.
type Events interface {
	Emit(opwebhook.Event)
}

// failing counts each source's rejected requests in windows.
type failing struct {
	mu      sync.Mutex
	sources map[string]*burst
}

type burst struct {
	since, last time.Time
	count       int
}

// rejected counts a rejected request to src at now, for reason, and
// returns the event to send when it completes a burst.
func (f *failing) rejected(src *hookline.Source, now time.Time, reason string) (opwebhook.Event, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.sources[src.ID]
	if b == nil || now.Sub(b.since) >= failingWindow {
		if f.sources == nil {
			f.sources = map[string]*burst{}
		}
		if b == nil && len(f.sources) >= maxFailing {
			for id, o := range f.sources {
				if now.Sub(o.since) >= failingWindow {
					delete(f.sources, id)
				}
			}
			if len(f.sources) >= maxFailing {
				return opwebhook.Event{}, false
			}
		}
		b = &burst{since: now}
		f.sources[src.ID] = b
	}
	b.count++
	b.last = now
	if b.count != failingBurst {
		return opwebhook.Event{}, false
	}
	var uid *string
	if src.UID != "" {
		uid = &src.UID
	}
	return opwebhook.Event{Type: opwebhook.SourceVerificationFailing, Data: &opwebhook.SourceFailingData{
		SourceID: src.ID, SourceUID: uid, SourceName: src.Name, Failures: b.count,
		Since: b.since.UTC(), LastAt: now.UTC(), LastError: reason,
	}}, true
}
