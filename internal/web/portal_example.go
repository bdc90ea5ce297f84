package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/ops"
)

// endpointExample sends an example of the chosen event type to the
// endpoint and shows its message, where the attempt appears.
func (s *server) endpointExample(w http.ResponseWriter, r *http.Request, sess *session) error {
	m, err := s.ops.SendExample(r.Context(), sess.acc, sess.app.ID, r.PathValue("endpoint_id"),
		strings.TrimSpace(r.PostFormValue("eventType")), 0)
	var ve *hookline.ValidationError
	switch {
	case errors.As(err, &ve):
		return s.renderEndpoint(w, r, sess, http.StatusUnprocessableEntity, map[string]string{"eventType": ve.Fields[0].Msg})
	case errors.Is(err, ops.ErrDisabled):
		return s.renderEndpoint(w, r, sess, http.StatusConflict, map[string]string{"eventType": "This endpoint is disabled. Enable it to send it an example."})
	case err != nil:
		return err
	}
	seeOther(w, r, sess.base+"/messages/"+url.PathEscape(m.ID), "example")
	return nil
}
