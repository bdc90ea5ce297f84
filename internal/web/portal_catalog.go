package web

import "net/http"

// catalogPage lists the event types an endpoint can subscribe to.
type catalogPage struct {
	basePage
	Types []catalogEntry
}

func (s *server) catalog(w http.ResponseWriter, r *http.Request, sess *session) error {
	ets, err := s.ops.EventTypes(r.Context(), sess.acc, catalogMax)
	if err != nil {
		return err
	}
	pg := catalogPage{basePage: s.base(sess, "Event catalog", "catalog")}
	for i := range ets {
		pg.Types = append(pg.Types, newCatalogEntry(&ets[i]))
	}
	return s.render(w, http.StatusOK, "catalog", pg)
}
