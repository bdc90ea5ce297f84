package cluster

import (
	"context"
	"time"

	"github.com/hookline/hookline/internal/store"
)

// Queue is the part of the store a dispatcher works through.
type Queue interface {
	DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error)
	DeliveryFinish(ctx context.Context, results []store.Result) error
	DeliveryRelease(ctx context.Context, ids []string) error
}

// ShareRateLimits returns q with the rate limit of each claimed task
// divided between the live worker nodes, which workers counts: each node
// enforces its share, ⌊limit/N⌋ per second but at least 1, so the nodes
// together stay within the limit. The share is approximate in two ways,
// both bounded: when N exceeds the limit, every node still sends 1 per
// second, N in all; and for one heartbeat TTL after a node joins, the
// others still count the old N. A node whose peers have no work for an
// endpoint still takes only its share, so the cluster may send below the
// limit, never above it otherwise.
func ShareRateLimits(q Queue, workers func() int) Queue {
	return &sharedQueue{Queue: q, workers: workers}
}

type sharedQueue struct {
	Queue
	workers func() int
}

func (s *sharedQueue) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	tasks, err := s.Queue.DeliveryClaim(ctx, c)
	share(tasks, s.workers())
	return tasks, err
}

// ShareDeliveries returns to with the rate limits of the tasks that
// publishes hand over (store.Deliverer.Deliver) shared as ShareRateLimits
// shares those of claimed tasks. If to is a store.RoomWaiter, a publish
// waits for room in this node's memory only while this node is the one
// live worker: with others, deliveries that find no room are left pending
// for any node to claim, rather than wait; alone, pending deliveries are
// this node's work all the same, claimed back at a higher cost, and the
// wait keeps publishing from outrunning delivery.
func ShareDeliveries(to store.Deliverer, workers func() int) store.Deliverer {
	s := &sharedDeliverer{Deliverer: to, workers: workers}
	if w, ok := to.(store.RoomWaiter); ok {
		return &sharedWaiter{sharedDeliverer: s, waiter: w}
	}
	return s
}

type sharedDeliverer struct {
	store.Deliverer
	workers func() int
}

func (s *sharedDeliverer) Deliver(tasks []store.Task, until time.Time) {
	share(tasks, s.workers())
	s.Deliverer.Deliver(tasks, until)
}

type sharedWaiter struct {
	*sharedDeliverer
	waiter store.RoomWaiter
}

func (s *sharedWaiter) WaitRoom(ctx context.Context, need int, maxWait time.Duration) {
	if s.workers() <= 1 {
		s.waiter.WaitRoom(ctx, need, maxWait)
	}
}

func (s *sharedWaiter) HasRoom(need int) bool {
	return s.workers() > 1 || s.waiter.HasRoom(need)
}

// share sets each task's rate limit to its share among n nodes.
func share(tasks []store.Task, n int) {
	if n <= 1 {
		return
	}
	for i := range tasks {
		if l := tasks[i].RateLimit; l != nil {
			share := max(1, *l/n)
			tasks[i].RateLimit = &share
		}
	}
}
