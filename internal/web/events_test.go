package web

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline/internal/opwebhook"
)

// events records operational events.
type events struct {
	mu    sync.Mutex
	types []string
}

func (r *events) Emit(ev opwebhook.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types = append(r.types, ev.Type)
}

// TestEndpointScreensEmitEvents checks that the portal's changes to
// endpoints tell the operator, as the API's do.
func TestEndpointScreensEmitEvents(t *testing.T) {
	rec := &events{}
	e := newEnv(t, func(o *Options) { o.Events = rec })
	b := e.browser()
	b.login(e.portalLink(nil))
	csrf := b.get("/portal/endpoints").want(http.StatusOK).attr(`form[action=/portal/logout] input[name=csrf]`, "value")

	b.post("/portal/endpoints", url.Values{"csrf": {csrf}, "url": {"https://example.com/hook"}}).want(http.StatusSeeOther)
	id := e.endpoints()[0].ID
	b.post("/portal/endpoints/"+id+"/disable", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	b.post("/portal/endpoints/"+id+"/enable", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)
	b.post("/portal/endpoints/"+id+"/delete", url.Values{"csrf": {csrf}}).want(http.StatusSeeOther)

	want := []string{opwebhook.EndpointCreated, opwebhook.EndpointUpdated, opwebhook.EndpointDisabled,
		opwebhook.EndpointUpdated, opwebhook.EndpointEnabled, opwebhook.EndpointDeleted}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff(want, rec.types); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
