package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// appsPage lists the installation's apps, or finds one.
type appsPage struct {
	basePage
	Q        string
	NotFound bool
	// Found are the apps whose name holds Q; Partial is set when the
	// search stopped before reading every app.
	Found        []hookline.App
	Partial      bool
	Apps         []hookline.App
	Newer, Older string
}

// appSearchScan is how many apps a search by name reads at most.
const appSearchScan = 10_000

func (s *server) appList(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	pg := appsPage{basePage: s.base(sess, "Applications", "apps"), Q: strings.TrimSpace(q.Get("q"))}
	if pg.Q != "" {
		a, err := s.ops.App(r.Context(), sess.acc, pg.Q)
		if err == nil {
			http.Redirect(w, r, "/console/apps/"+url.PathEscape(a.ID)+"/", http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, hookline.ErrNotFound) {
			return err
		}
		complete := false
		if pg.Found, complete, err = s.ops.AppSearch(r.Context(), sess.acc, pg.Q, pageSize, appSearchScan); err != nil {
			return err
		}
		pg.Partial = !complete
		pg.NotFound = len(pg.Found) == 0
	}
	p, err := pageOf(q, hookline.PrefixApp, pageSize)
	if err != nil {
		return err
	}
	apps, done, err := s.ops.AppList(r.Context(), sess.acc, p)
	if err != nil {
		return err
	}
	pg.Apps = apps
	if len(apps) > 0 {
		pg.Newer, pg.Older = neighbours(p, done, apps[0].ID, apps[len(apps)-1].ID)
	}
	return s.render(w, http.StatusOK, "console/apps", pg)
}

// appPage shows one app to an operator.
type appPage struct {
	basePage
	App       *hookline.App
	Endpoints []endpointRow
	More      bool
	// PortalURL is a fresh portal link, shown once after Open portal.
	PortalURL string
}

// appEndpoints is how many endpoints an app's page shows.
const appEndpoints = 10

func (s *server) appShow(w http.ResponseWriter, r *http.Request, sess *session) error {
	pg := appPage{basePage: s.base(sess, sess.app.Name, "endpoints"), App: sess.app}
	eps, done, err := s.ops.EndpointList(r.Context(), sess.acc, sess.app.ID, store.Page{Limit: appEndpoints, Desc: true})
	if err != nil {
		return err
	}
	for i := range eps {
		row := newRow(&eps[i])
		if row.Rate, err = s.successRate(r.Context(), sess, eps[i].ID); err != nil {
			return err
		}
		pg.Endpoints = append(pg.Endpoints, row)
	}
	pg.More = !done
	pg.Nav = ""
	return s.render(w, http.StatusOK, "console/app", pg)
}

// portalLinkTTL is how long the session of a portal opened from the
// console lasts.
const portalLinkTTL = time.Hour

// appPortal makes a one-use link to the app's portal, as app-portal-access
// does, and goes to it: the operator sees what the app's customer sees.
func (s *server) appPortal(w http.ResponseWriter, r *http.Request, sess *session) error {
	now := s.now()
	exp := now.Add(portalLinkTTL)
	t := &hookline.Token{Name: "app portal (console)", Scope: hookline.ScopeApp, AppID: sess.app.ID,
		Capabilities: hookline.AppCapabilities, CreatedAt: now, ExpiresAt: &exp}
	_, code, err := s.ops.PortalLink(r.Context(), sess.acc, t)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/portal/login?code="+url.QueryEscape(code), http.StatusSeeOther)
	return nil
}
