package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookline/hookline"
)

// endpointRecover sends again every failed webhook to the endpoint since
// the time the form names.
func (s *server) endpointRecover(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("endpoint_id")
	errs := map[string]string{}
	since := parseLocal("since", strings.TrimSpace(r.PostFormValue("since")), errs)
	if since == nil && len(errs) == 0 {
		errs["since"] = "is required"
	}
	var n int
	var err error
	if len(errs) == 0 {
		n, err = s.ops.Recover(r.Context(), sess.acc, sess.app.ID, id, *since, nil)
	}
	var ve *hookline.ValidationError
	if errors.As(err, &ve) {
		errs["since"] = ve.Fields[0].Msg
		err = nil
	}
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return s.renderEndpoint(w, r, sess, http.StatusUnprocessableEntity, errs)
	}
	to := sess.base + "/endpoints/" + url.PathEscape(id) + "?recovered=" + fmt.Sprint(n)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
