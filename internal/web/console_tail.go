package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookline/hookline"
)

// tailPage shows a source's newest requests; with JS it appends those that
// arrive, read from the source's stream.
type tailPage struct {
	basePage
	Source   *hookline.Source
	Requests []receivedRow
	// After is the newest request shown, where the stream starts.
	After string
}

// tailSize is how many requests the tail shows when it opens.
const tailSize = 20

func (s *server) sourceTail(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	src, err := s.ops.Source(ctx, sess.acc, r.PathValue("source_id"))
	if err != nil {
		return err
	}
	q, _ := receivedFilter{Verified: "true"}.query()
	q.Limit, q.Desc = tailSize, true
	_, page, err := s.ops.ReceivedList(ctx, sess.acc, src.ID, q)
	if err != nil {
		return err
	}
	pg := tailPage{basePage: s.base(sess, "Live tail", "sources"), Source: src, After: hookline.FirstID(hookline.PrefixReceived)}
	for i := range page.Reqs {
		pg.Requests = append(pg.Requests, newReceivedRow(&page.Reqs[i]))
	}
	if len(page.Reqs) > 0 {
		pg.After = page.Reqs[0].ID
	}
	return s.render(w, http.StatusOK, "console/source_tail", pg)
}

// tailEvent is a request as the tail's stream sends it: what a row shows.
type tailEvent struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	Method     string    `json:"method"`
	EventType  string    `json:"eventType"`
	Verified   bool      `json:"verified"`
	Size       string    `json:"size"`
	ReceivedAt time.Time `json:"receivedAt"`
	When       string    `json:"when"`
}

// sourceStream streams the requests the source receives, as the API's
// stream does for `hookline listen`, for the tail page's EventSource: same
// origin, with the session's cookie.
func (s *server) sourceStream(w http.ResponseWriter, r *http.Request, sess *session) error {
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("after")
	}
	if after != "" && !hookline.IsID(hookline.PrefixReceived, after) {
		return hookline.Invalid([]string{"query", "after"}, "must be the ID of a received request (in_...)")
	}
	src, err := s.ops.Source(r.Context(), sess.acc, r.PathValue("source_id"))
	if err != nil {
		return err
	}
	base := sourcePath(src.ID) + "/requests/"
	return s.in.Stream(w, r, src, after, func(b []byte, x *hookline.Received) ([]byte, error) {
		enc, err := json.Marshal(tailEvent{ID: x.ID, URL: base + x.ID, Method: x.Method, EventType: x.EventType,
			Verified: x.Verified, Size: byteSize(len(x.Body)), ReceivedAt: x.CreatedAt.UTC(),
			When: stamp(x.CreatedAt)})
		return append(b, enc...), err
	})
}
