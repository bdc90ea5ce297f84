package ops

import (
	"context"

	"github.com/hookline/hookline"
)

// App returns the app key names, for an operation needing ViewBase.
func (s *Service) App(ctx context.Context, acc *hookline.Access, appKey string) (*hookline.App, error) {
	return s.app(ctx, acc, hookline.CapViewBase, appKey)
}
