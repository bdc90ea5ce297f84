package web

import (
	"net/http"
	"time"
)

// overviewPage is the console's first page: how the delivery backlog
// stands.
type overviewPage struct {
	basePage
	// Gauges is false when the store cannot read them cheaply.
	Gauges            bool
	Pending           int64
	OldestAge         string
	EndpointsDisabled int64
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, sess *session) error {
	pg := overviewPage{basePage: s.base(sess, "Overview", "overview")}
	g, ok, err := s.ops.Gauges(r.Context(), sess.acc)
	if err != nil {
		return err
	}
	pg.Gauges = ok
	pg.Pending, pg.EndpointsDisabled = g.Pending, g.EndpointsDisabled
	if !g.OldestDue.IsZero() {
		age := s.now().Sub(g.OldestDue)
		if age < 0 {
			pg.OldestAge = "none due yet"
		} else {
			pg.OldestAge = age.Round(time.Second).String()
		}
	}
	return s.render(w, http.StatusOK, "console/overview", pg)
}
