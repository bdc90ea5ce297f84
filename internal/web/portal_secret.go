package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/ops"
)

// secretPage shows an endpoint's signing secret, hidden until revealed.
type secretPage struct {
	basePage
	Endpoint *hookline.Endpoint
	// Secret is the current secret, set only when revealed.
	Secret string
	// OldSecrets counts the rotated-out secrets that still sign, and
	// OldUntil is when the last of them stops.
	OldSecrets int
	OldUntil   *time.Time
	// Overlap is how long a rotated-out secret keeps signing.
	Overlap string
}

func (s *server) secretShow(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("endpoint_id")
	e, err := s.ops.Endpoint(r.Context(), sess.acc, sess.app.ID, id)
	if err != nil {
		return err
	}
	pg := secretPage{basePage: s.base(sess, "Signing secret", "endpoints"), Endpoint: e, Overlap: "24 hours"}
	pg.Flash = flashes[r.URL.Query().Get("done")]
	now := s.now()
	for _, sec := range e.Secrets[min(1, len(e.Secrets)):] {
		if sec.ExpiresAt != nil && now.Before(*sec.ExpiresAt) {
			pg.OldSecrets++
			if pg.OldUntil == nil || sec.ExpiresAt.After(*pg.OldUntil) {
				t := *sec.ExpiresAt
				pg.OldUntil = &t
			}
		}
	}
	if r.URL.Query().Get("reveal") != "" {
		if pg.Secret, err = s.ops.EndpointSecret(r.Context(), sess.acc, sess.app.ID, e.ID); err != nil {
			return err
		}
	}
	return s.render(w, http.StatusOK, "secret", pg)
}

func (s *server) secretRotate(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("endpoint_id")
	if err := s.ops.EndpointSecretRotate(r.Context(), sess.acc, sess.app.ID, id, "", ops.DefaultGracePeriod); err != nil {
		return err
	}
	seeOther(w, r, sess.base+"/endpoints/"+url.PathEscape(id)+"/secret", "rotated")
	return nil
}
