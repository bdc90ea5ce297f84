package inbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Bounds of streams and long polls.
const (
	// StreamPoll bounds each wait of a stream or long poll for new
	// requests, so that requests received by another node sharing the
	// database show up too.
	StreamPoll = 2 * time.Second
	// streamKeepAlive is how often an idle stream sends a comment, so that
	// proxies and clients do not take it for dead.
	streamKeepAlive = 15 * time.Second
)

// Encoder appends one request, as the data of a stream's event, to b. The
// data must be one line.
type Encoder func(b []byte, x *hookline.Received) ([]byte, error)

// Stream sends a source's verified requests as Server-Sent Events while
// the client stays connected: every request after the ID after, or, when
// after is "", after the newest one stored when the stream opens. Each is
// an event "request" whose ID is the request's and whose data enc writes.
// It is what `hookline listen` reads from the API, and what the console's
// live tail reads. The headers passed on leave out credentials meant for
// hookline, as forwards do. It returns when the client goes away or the
// source is deleted; an error only when nothing was written yet.
func (s *Service) Stream(w http.ResponseWriter, r *http.Request, src *hookline.Source, after string, enc Encoder) error {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.streamsEnd:
			cancel()
		case <-ctx.Done():
		}
	}()
	if after == "" {
		latest, _, err := s.st.ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: store.Page{Limit: 1, Desc: true}})
		if err != nil {
			return err
		}
		after = hookline.FirstID(hookline.PrefixReceived)
		if len(latest) > 0 {
			after = latest[0].ID
		}
	}

	// A stream lasts as long as the client wants it; the server's read
	// and write timeouts are for ordinary requests.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	w.WriteHeader(http.StatusOK)
	// The first bytes tell the client the stream is open, and where it
	// starts: as the ID of an event without data, which a client that
	// reconnects sends back as Last-Event-ID, so that a request stored
	// before the first event, while it was away, is not missed.
	if _, err := fmt.Fprint(w, ": stream of source "+src.ID+"\nid: "+after+"\n\n"); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}

	lastWrite := time.Now()
	f := store.ReceivedFilter{Page: store.Page{Limit: 50, Iterator: after}, VerifiedOnly: true}
	var data []byte // one event at a time, the buffer reused
	for ctx.Err() == nil {
		changed := s.Changes(src.ID)
		reqs, _, err := s.st.ReceivedList(ctx, src.ID, f)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("stream received requests", "source_id", src.ID, "err", err)
			}
			return nil // the client reconnects and resumes
		}
		for i := range reqs {
			reqs[i].Headers = ForwardHeaders(src, reqs[i].Headers)
			data = append(data[:0], "id: "+reqs[i].ID+"\nevent: request\ndata: "...)
			if data, err = enc(data, &reqs[i]); err != nil {
				s.log.Error("encode streamed request", "source_id", src.ID, "received_id", reqs[i].ID, "err", err)
				return nil
			}
			data = append(data, "\n\n"...)
			if _, err := w.Write(data); err != nil {
				return nil
			}
			if rc.Flush() != nil {
				return nil
			}
			f.Iterator, lastWrite = reqs[i].ID, time.Now()
		}
		if len(reqs) > 0 {
			continue
		}
		if time.Since(lastWrite) >= streamKeepAlive {
			// Also the moment to notice a source deleted meanwhile.
			if _, err := s.st.SourceGet(ctx, src.ID); errors.Is(err, hookline.ErrNotFound) {
				return nil
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
			lastWrite = time.Now()
		}
		WaitChange(ctx, changed, StreamPoll)
	}
	return nil
}

// EndStreams ends every stream, for a server shutting down: a stream
// never ends by itself, and http.Server.Shutdown waits for it (register
// it with http.Server.RegisterOnShutdown). Clients reconnect, to another
// node or once this one is back.
func (s *Service) EndStreams() {
	s.endOnce.Do(func() { close(s.streamsEnd) })
}

// WaitChange returns when changed is closed, after d, or when ctx ends.
func WaitChange(ctx context.Context, changed <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C:
	case <-ctx.Done():
	}
}
