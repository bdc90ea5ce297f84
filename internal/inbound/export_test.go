package inbound

import (
	"time"

	"github.com/hookline/hookline/internal/inflight"
)

// BoundWriting replaces the bound on the bytes of received requests being
// written at once with one of the same size that waits only wait, and
// returns it, for tests to take.
func (s *Service) BoundWriting(wait time.Duration) *inflight.Limiter {
	s.writing = inflight.New(maxWriting, wait)
	return s.writing
}

// MaxWriting is maxWriting, for tests.
const MaxWriting = maxWriting
