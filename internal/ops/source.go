package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/store"
)

// Bounds of the source operations.
const (
	// DefaultTokenGrace is how long a rotated-out receive URL keeps
	// working when the rotation names no grace period: a day, time enough
	// to update the sender's settings.
	DefaultTokenGrace = 24 * time.Hour
	// MaxTokenGrace is the longest a rotated-out URL may keep working.
	MaxTokenGrace = 7 * 24 * time.Hour
	// MaxFilterScan bounds how many store pages one list with a filter the
	// store cannot apply (verified=false, a header or body match, a hold
	// route's filter) reads.
	MaxFilterScan = 20
	// MaxReplay is the most requests one ReplayMatching replays.
	MaxReplay = 1000
	// maxReplayScan bounds the requests ReplayMatching reads to find them.
	maxReplayScan = 20 * MaxReplay
)

// ErrNoInbound means the server receives no webhooks: it has no inbound
// service or its store keeps no sources.
var ErrNoInbound = errors.New("inbound webhooks are not served")

// inbound returns the store as an InboundStore, and the inbound service.
func (s *Service) inbound() (store.InboundStore, *inbound.Service, error) {
	ist, ok := s.st.(store.InboundStore)
	if !ok || s.in == nil {
		return nil, nil, ErrNoInbound
	}
	return ist, s.in, nil
}

// Source returns the source key names, an ID or a uid.
func (s *Service) Source(ctx context.Context, acc *hookline.Access, key string) (*hookline.Source, error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, err
	}
	return s.source(ctx, key)
}

func (s *Service) source(ctx context.Context, key string) (*hookline.Source, error) {
	ist, _, err := s.inbound()
	if err != nil {
		return nil, err
	}
	src, err := ist.SourceGet(ctx, key)
	return src, lookup(err, "source", key)
}

// SourceList lists the sources.
func (s *Service) SourceList(ctx context.Context, acc *hookline.Access, p store.Page) ([]hookline.Source, bool, error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, false, err
	}
	ist, _, err := s.inbound()
	if err != nil {
		return nil, false, err
	}
	return ist.SourceList(ctx, p)
}

// SourceWriteErr explains a conflict on a source write: uids are unique.
func sourceWriteErr(err error, src *hookline.Source) error {
	if errors.Is(err, hookline.ErrConflict) {
		return &Error{Kind: hookline.ErrConflict, Detail: "a source with uid " + quote(src.UID) + " already exists"}
	}
	return lookup(err, "source", src.ID)
}

// SourceCreate creates a source that apply sets up, with a new receive
// URL, and makes its forward routes real. Only the token's hash is stored,
// so the URL returned is shown once and nowhere else.
func (s *Service) SourceCreate(ctx context.Context, acc *hookline.Access, apply func(*hookline.Source) error) (*hookline.Source, string, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, "", err
	}
	ist, in, err := s.inbound()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	token, hash := inbound.NewToken()
	src := &hookline.Source{ID: hookline.NewID(hookline.PrefixSource), TokenHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := apply(src); err != nil {
		return nil, "", err
	}
	if err := in.Validate(src); err != nil {
		return nil, "", err
	}
	if err := ist.SourceCreate(ctx, src); err != nil {
		return nil, "", sourceWriteErr(err, src)
	}
	if err := in.SyncForwards(ctx, src); err != nil {
		// Undo: the caller never sees this source's URL, so a source left
		// behind could never be used.
		undo := context.WithoutCancel(ctx)
		if derr := in.DeleteForwards(undo, src); derr != nil {
			err = errors.Join(err, derr)
		}
		if derr := ist.SourceDelete(undo, src.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, "", fmt.Errorf("create forwards of source: %w", err)
	}
	return src, in.URL(token), nil
}

// SourceRotate gives a source a new receive URL. The old one keeps
// working for grace (nil means DefaultTokenGrace, 0 ends it at once), so
// senders can be moved over without losing requests; a second rotation
// within it ends the first one's old URL.
func (s *Service) SourceRotate(ctx context.Context, acc *hookline.Access, key string, grace *time.Duration) (*hookline.Source, string, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return nil, "", err
	}
	g := DefaultTokenGrace
	if grace != nil {
		g = *grace
		if g < 0 || g > MaxTokenGrace {
			return nil, "", hookline.Invalid([]string{"body", "gracePeriodSeconds"},
				"must be from 0 to "+strconv.FormatInt(int64(MaxTokenGrace/time.Second), 10)+" (7 days)")
		}
	}
	ist, in, err := s.inbound()
	if err != nil {
		return nil, "", err
	}
	src, err := s.source(ctx, key)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	token, hash := inbound.NewToken()
	src.PrevTokenHash, src.PrevTokenExpires = nil, nil
	if g > 0 {
		until := now.Add(g)
		src.PrevTokenHash, src.PrevTokenExpires = src.TokenHash, &until
	}
	src.TokenHash, src.UpdatedAt = hash, now
	if err := ist.SourceUpdate(ctx, src); err != nil {
		return nil, "", sourceWriteErr(err, src)
	}
	return src, in.URL(token), nil
}

// ReceivedQuery selects a source's received requests: the store applies
// ReceivedFilter, the rest is applied to each request read.
type ReceivedQuery struct {
	store.ReceivedFilter
	// Rejected keeps only the requests that failed verification (kept
	// with keepRejected); VerifiedOnly, in the filter, leaves them out.
	Rejected bool
	// Header and HeaderValue keep the requests with a header of that name
	// (in any case) having that value.
	Header, HeaderValue string
	// Path and PathValue keep the requests whose JSON view has that value
	// at that dot-separated path, compared as route filters compare
	// (hookline.Fields.Lookup).
	Path, PathValue string
	// Keep, when set, must accept a request too.
	Keep func(*hookline.Received) bool
}

// keep returns the filter applied to each request, nil for none.
func (q *ReceivedQuery) keep() func(*hookline.Received) bool {
	if !q.Rejected && q.Header == "" && q.Path == "" && q.Keep == nil {
		return nil
	}
	return func(x *hookline.Received) bool {
		if q.Rejected && x.Verified {
			return false
		}
		if q.Header != "" && !slices.Contains(http.Header(x.Headers).Values(q.Header), q.HeaderValue) {
			return false
		}
		if q.Path != "" {
			got, ok := hookline.NewFields(x.View).Lookup(q.Path)
			if !ok || got != q.PathValue {
				return false
			}
		}
		return q.Keep == nil || q.Keep(x)
	}
}

// ReceivedPage is a page of received requests.
type ReceivedPage struct {
	Reqs []hookline.Received
	// Last is the ID of the last request read, kept or not, which is where
	// the next page starts.
	Last string
	Done bool
	// Stopped is set when a filter applied to each request read
	// MaxFilterScan store pages without filling the page or reaching the
	// end of the list: the next page goes on from Last.
	Stopped bool
	// Read is how many requests were read to fill the page.
	Read int
}

// receivedWeight is what a request weighs against a page's byte cap.
func receivedWeight(x *hookline.Received) int64 {
	return int64(len(x.Body) + len(x.View))
}

// ReceivedList lists a source's requests that q selects, until q.Limit
// are kept, those kept reach the store's byte cap of a page
// (store.MaxPageBytes), the list ends, or MaxFilterScan pages were read.
func (s *Service) ReceivedList(ctx context.Context, acc *hookline.Access, sourceKey string, q ReceivedQuery) (*hookline.Source, ReceivedPage, error) {
	var out ReceivedPage
	src, err := s.Source(ctx, acc, sourceKey)
	if err != nil {
		return nil, out, err
	}
	ist, _, _ := s.inbound()
	f := q.ReceivedFilter
	keep := q.keep()
	var bytes int64
	for range MaxFilterScan {
		page, done, err := ist.ReceivedList(ctx, src.ID, f)
		if err != nil {
			return nil, out, err
		}
		for i := range page {
			if len(out.Reqs) == f.Limit {
				return src, out, nil
			}
			kept := keep == nil || keep(&page[i])
			if kept && len(out.Reqs) > 0 && bytes+receivedWeight(&page[i]) > store.MaxPageBytes {
				return src, out, nil // the next page starts at this request
			}
			out.Last = page[i].ID
			out.Read++
			if kept {
				out.Reqs = append(out.Reqs, page[i])
				bytes += receivedWeight(&page[i])
			}
		}
		out.Done = done
		// A backward page (a prevIterator) is read once: walking further
		// back would need the store's order reversed.
		if done || len(page) == 0 || len(out.Reqs) == f.Limit || keep == nil || f.Prev {
			return src, out, nil
		}
		f.Iterator = page[len(page)-1].ID
	}
	out.Stopped = true
	return src, out, nil
}

// Received returns a source's request and its command runs.
func (s *Service) Received(ctx context.Context, acc *hookline.Access, sourceKey, id string) (*hookline.Source, *hookline.Received, []hookline.Run, error) {
	src, err := s.Source(ctx, acc, sourceKey)
	if err != nil {
		return nil, nil, nil, err
	}
	ist, _, _ := s.inbound()
	x, err := ist.ReceivedGet(ctx, src.ID, id)
	if err != nil {
		return nil, nil, nil, lookup(err, "request", id)
	}
	runs, err := ist.RunList(ctx, x.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	return src, x, runs, nil
}

// Replay runs a stored request through its source's current routes again.
func (s *Service) Replay(ctx context.Context, acc *hookline.Access, sourceKey, id string) error {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return err
	}
	src, x, _, err := s.Received(ctx, acc, sourceKey, id)
	if err != nil {
		return err
	}
	_, in, _ := s.inbound()
	return in.Replay(ctx, src, x)
}

// Replayable is what ReplayMatching would replay.
type Replayable struct {
	// Count is how many verified requests q selects, at most MaxReplay.
	Count int
	// More is set when there are more than MaxReplay, or when the search
	// stopped after reading its bound of requests: then Count is a floor.
	More bool
}

// ReplayCount counts the requests of a source that ReplayMatching would
// replay: the verified ones q selects, newest first, at most MaxReplay.
func (s *Service) ReplayCount(ctx context.Context, acc *hookline.Access, sourceKey string, q ReceivedQuery) (Replayable, error) {
	return s.replayWalk(ctx, acc, sourceKey, q, nil)
}

// ReplayMatching replays the verified requests of a source that q selects,
// newest first, at most MaxReplay, and says how many it replayed.
func (s *Service) ReplayMatching(ctx context.Context, acc *hookline.Access, sourceKey string, q ReceivedQuery) (Replayable, error) {
	if err := acc.Require(hookline.CapAdmin, ""); err != nil {
		return Replayable{}, err
	}
	_, in, err := s.inbound()
	if err != nil {
		return Replayable{}, err
	}
	return s.replayWalk(ctx, acc, sourceKey, q, in.Replay)
}

// replayWalk walks the requests q selects, calling replay on each unless
// it is nil.
func (s *Service) replayWalk(ctx context.Context, acc *hookline.Access, sourceKey string, q ReceivedQuery,
	replay func(context.Context, *hookline.Source, *hookline.Received) error) (Replayable, error) {
	var out Replayable
	if q.Rejected {
		return out, nil // only verified requests are routed
	}
	q.VerifiedOnly = true
	q.Page = store.Page{Limit: 100, Desc: true}
	read := 0
	for {
		src, page, err := s.ReceivedList(ctx, acc, sourceKey, q)
		if err != nil {
			return out, err
		}
		for i := range page.Reqs {
			if out.Count == MaxReplay {
				out.More = true
				return out, nil
			}
			if replay != nil {
				if err := replay(ctx, src, &page.Reqs[i]); err != nil {
					return out, fmt.Errorf("replay request %s: %w", page.Reqs[i].ID, err)
				}
			}
			out.Count++
		}
		read += page.Read
		if page.Done || page.Last == "" {
			return out, nil
		}
		if read >= maxReplayScan {
			out.More = true
			return out, nil
		}
		q.Iterator = page.Last
	}
}

// RouteResult is what one of a source's routes did with a request, as far
// as the store records it.
type RouteResult struct {
	Route hookline.Route
	// Matched is false when the route's filter left the request out, or
	// the request failed verification.
	Matched bool
	// AppID and Messages are the messages a forward or publish route made
	// of the request when it arrived, found by the route's app, channel
	// (forwards) and the request's time; replays make others, later.
	AppID    string
	Messages []hookline.Message
	// Attempts are the delivery attempts of those messages, newest first.
	Attempts []hookline.Attempt
	// Runs are a command route's runs, replays' included.
	Runs []hookline.Run
	// Acked is set for a held request that the polling app acknowledged.
	Acked bool
}

// ReceivedRoutes says what each of the source's current routes did with
// a request it received: the messages forwards and publishes made and
// their attempts, the runs of commands, and whether a held request was
// acknowledged. Routes changed since the request arrived are shown as
// they are now.
func (s *Service) ReceivedRoutes(ctx context.Context, acc *hookline.Access, src *hookline.Source, x *hookline.Received, runs []hookline.Run) ([]RouteResult, error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, err
	}
	ist, _, err := s.inbound()
	if err != nil {
		return nil, err
	}
	view := hookline.NewFields(x.View)
	after, before := x.CreatedAt.Add(-time.Microsecond), x.CreatedAt.Add(time.Microsecond)
	out := make([]RouteResult, 0, len(src.Routes))
	for _, rt := range src.Routes {
		res := RouteResult{Route: rt, Matched: x.Verified && rt.Filter.Matches(x.EventType, view)}
		switch rt.Type {
		case hookline.RouteForward, hookline.RoutePublish:
			if !res.Matched {
				break
			}
			f := store.MessageFilter{Page: store.Page{Limit: 10, Desc: true}, Window: store.Window{After: &after, Before: &before}}
			appKey := rt.App
			if rt.Type == hookline.RouteForward {
				appKey, f.Channel = src.ID, rt.ID
			}
			app, err := s.st.AppGet(ctx, appKey)
			if errors.Is(err, hookline.ErrNotFound) {
				break
			}
			if err != nil {
				return nil, err
			}
			res.AppID = app.ID
			msgs, _, err := s.st.MessageList(ctx, app.ID, f)
			if err != nil {
				return nil, err
			}
			res.Messages = msgs
			for _, m := range msgs {
				atts, _, err := s.st.AttemptList(ctx, app.ID, store.AttemptFilter{Page: store.Page{Limit: 10, Desc: true}, MessageID: m.ID})
				if err != nil {
					return nil, err
				}
				res.Attempts = append(res.Attempts, atts...)
			}
		case hookline.RouteCommand:
			for _, run := range runs {
				if run.RouteID == rt.ID {
					res.Runs = append(res.Runs, run)
				}
			}
		case hookline.RouteHold:
			if res.Matched {
				cur, err := ist.SourceCursorGet(ctx, src.ID)
				if err != nil && !errors.Is(err, hookline.ErrNotFound) {
					return nil, err
				}
				res.Acked = cur != "" && strings.Compare(x.ID, cur) <= 0
			}
		}
		out = append(out, res)
	}
	return out, nil
}
