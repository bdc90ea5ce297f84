package web

import (
	"net/http"
	"time"

	"github.com/hookline/hookline/internal/metrics"
	"github.com/hookline/hookline/internal/store"
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
	// Charts are of this node's counts; none when metrics are off.
	Charts []chart
	// Failing and Disabled are endpoints in trouble, across apps.
	Failing, Disabled []endpointRow
	// Nodes are a cluster's live nodes; none on a store of one node.
	Nodes []nodeRow
	// Sources are this node's counts per source since it started.
	Sources []metrics.SourceCount
}

type nodeRow struct {
	store.NodeInfo
	// This is set for the node serving the page.
	This bool
	// Seen says how long ago the node last beat.
	Seen string
}

// troubleShown is how many failing and how many disabled endpoints the
// overview lists.
const troubleShown = 10

func (s *server) overview(w http.ResponseWriter, r *http.Request, sess *session) error {
	pg := overviewPage{basePage: s.base(sess, "Overview", "overview")}
	g, ok, err := s.ops.Gauges(r.Context(), sess.acc)
	if err != nil {
		return err
	}
	pg.Gauges = ok
	failing, disabled, _, err := s.ops.EndpointTrouble(r.Context(), sess.acc, troubleShown)
	if err != nil {
		return err
	}
	for i := range failing {
		pg.Failing = append(pg.Failing, newRow(&failing[i]))
	}
	for i := range disabled {
		pg.Disabled = append(pg.Disabled, newRow(&disabled[i]))
	}
	pg.Pending, pg.EndpointsDisabled = g.Pending, g.EndpointsDisabled
	if !g.OldestDue.IsZero() {
		age := s.now().Sub(g.OldestDue)
		if age < 0 {
			pg.OldestAge = "none due yet"
		} else {
			pg.OldestAge = age.Round(time.Second).String()
		}
	}
	if s.history != nil {
		deliveries := []chartSeries{{"succeeded", "bar-ok"}, {"failed, to be retried", "bar-warn"}, {"failed", "bar-bad"}}
		delivered := func(s metrics.Sample) []float64 { return []float64{s.Succeeded, s.Retried, s.Failed} }
		published := []chartSeries{{"published", "bar-accent"}}
		pub := func(s metrics.Sample) []float64 { return []float64{s.Published} }
		received := []chartSeries{{"accepted", "bar-ok"}, {"refused", "bar-bad"}}
		recv := func(s metrics.Sample) []float64 { return []float64{s.Accepted, s.Rejected} }
		hour, day := s.history.Series(time.Minute, 60), s.history.Series(time.Hour, 24)
		pg.Sources = s.history.Sources()
		pg.Charts = []chart{
			newChart("Messages published in the last hour, by minute", hour, time.Minute, published, pub),
			newChart("Delivery attempts in the last hour, by minute", hour, time.Minute, deliveries, delivered),
			newChart("Messages published in the last day, by hour", day, time.Hour, published, pub),
			newChart("Delivery attempts in the last day, by hour", day, time.Hour, deliveries, delivered),
			newChart("Requests received on sources in the last day, by hour", day, time.Hour, received, recv),
		}
	}
	nodes, _, err := s.ops.Nodes(r.Context(), sess.acc)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		pg.Nodes = append(pg.Nodes, nodeRow{NodeInfo: n, This: n.ID == s.nodeID,
			Seen: max(s.now().Sub(n.SeenAt), 0).Round(time.Second).String() + " ago"})
	}
	return s.render(w, http.StatusOK, "console/overview", pg)
}
