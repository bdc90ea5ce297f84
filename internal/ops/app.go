package ops

import (
	"context"
	"slices"
	"strings"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// App returns the app key names, for an operation needing ViewBase.
func (s *Service) App(ctx context.Context, acc *hookline.Access, appKey string) (*hookline.App, error) {
	return s.app(ctx, acc, hookline.CapViewBase, appKey)
}

// AppList lists the installation's apps, newest first unless p says
// otherwise.
func (s *Service) AppList(ctx context.Context, acc *hookline.Access, p store.Page) ([]hookline.App, bool, error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, false, err
	}
	return s.st.AppList(ctx, p)
}

// EventTypeList lists the catalog, archived event types too when
// archived is set.
func (s *Service) EventTypeList(ctx context.Context, acc *hookline.Access, p store.Page, archived bool) ([]hookline.EventType, bool, error) {
	if err := acc.Require(hookline.CapViewBase, ""); err != nil {
		return nil, false, err
	}
	return s.st.EventTypeList(ctx, p, archived)
}

// Gauges reads the delivery backlog and the disabled endpoints, when the
// store can read them cheaply; ok is false when it cannot.
func (s *Service) Gauges(ctx context.Context, acc *hookline.Access) (g store.Gauges, ok bool, err error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return g, false, err
	}
	gr, ok := s.st.(store.Gauger)
	if !ok {
		return g, false, nil
	}
	g, err = gr.GaugesRead(ctx)
	return g, err == nil, err
}

// EndpointTrouble lists up to limit failing and up to limit disabled
// endpoints of the apps, when the store can list them cheaply; ok is false
// when it cannot. The operator's own endpoints are left out.
func (s *Service) EndpointTrouble(ctx context.Context, acc *hookline.Access, limit int) (failing, disabled []hookline.Endpoint, ok bool, err error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, nil, false, err
	}
	tl, ok := s.st.(store.TroubleLister)
	if !ok {
		return nil, nil, false, nil
	}
	failing, disabled, err = tl.EndpointTroubleList(ctx, limit+1)
	if err != nil {
		return nil, nil, false, err
	}
	keep := func(eps []hookline.Endpoint) []hookline.Endpoint {
		eps = slices.DeleteFunc(eps, func(e hookline.Endpoint) bool { return e.AppID == opwebhook.AppID })
		return eps[:min(len(eps), limit)]
	}
	return keep(failing), keep(disabled), true, nil
}

// Nodes lists the live nodes of a cluster, when the store is shared by
// one; ok is false when it is not.
func (s *Service) Nodes(ctx context.Context, acc *hookline.Access) (nodes []store.NodeInfo, ok bool, err error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, false, err
	}
	nl, ok := s.st.(store.NodeLister)
	if !ok {
		return nil, false, nil
	}
	nodes, err = nl.NodeList(ctx)
	return nodes, err == nil, err
}

// AppSearch finds up to limit apps whose name holds q, in any case, newest
// first, reading at most scan apps: names have no index, so a search
// reads the list. complete is false when it stopped before the end.
func (s *Service) AppSearch(ctx context.Context, acc *hookline.Access, q string, limit, scan int) (found []hookline.App, complete bool, err error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, false, err
	}
	q = strings.ToLower(q)
	p := store.Page{Limit: store.MaxLimit, Desc: true}
	for read := 0; read < scan; {
		apps, done, err := s.st.AppList(ctx, p)
		if err != nil {
			return nil, false, err
		}
		read += len(apps)
		for _, a := range apps {
			if a.ID != opwebhook.AppID && strings.Contains(strings.ToLower(a.Name), q) {
				found = append(found, a)
				if len(found) == limit {
					return found, false, nil
				}
			}
		}
		if done || len(apps) == 0 {
			return found, true, nil
		}
		p.Iterator = apps[len(apps)-1].ID
	}
	return found, false, nil
}
