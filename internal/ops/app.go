package ops

import (
	"context"

	"github.com/hookline/hookline"
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
