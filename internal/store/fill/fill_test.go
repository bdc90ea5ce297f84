package fill_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/fill"
	"github.com/hookline/hookline/internal/store/sqlite"
	"github.com/hookline/hookline/internal/store/storetest"
)

// TestGrowInSteps grows a store in two steps and reads back what it holds:
// the counts Grow reports, and IDs that grow with the history.
func TestGrowInSteps(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := &fill.History{End: time.Now().UTC(), Span: 30 * 24 * time.Hour, Total: 3000, Batch: 500}
	var total fill.Counts
	for _, step := range [][2]int64{{0, 1200}, {1200, 3000}} {
		c, err := h.Grow(ctx, st, step[0], step[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		total.Messages += c.Messages
		total.Deliveries += c.Deliveries
		total.Attempts += c.Attempts
		total.Received += c.Received
	}
	got := map[string]int64{}
	var msgIDs, attemptIDs []string
	err = st.Dump(ctx, func(r store.Record) error {
		got[r.Kind()]++
		if r.Message != nil {
			msgIDs = append(msgIDs, r.Message.ID)
			// Lists with a time window bound their walk by ID: each
			// message must be named as though made at its creation time.
			if !t.Failed() {
				storetest.WantIDLag(t, hookline.PrefixMessage, r.Message.ID, r.Message.CreatedAt)
			}
		}
		if r.Attempt != nil {
			attemptIDs = append(attemptIDs, r.Attempt.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"app": fill.Apps, "event type": 4, "endpoint": fill.Apps * fill.EndpointsPerApp, "source": 1,
		"message": total.Messages, "delivery": total.Deliveries, "attempt": total.Attempts, "received": total.Received}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows held (-reported +read back):\n%s", diff)
	}
	if total.Messages != 3000 || total.Received != fill.Received(3000) || total.Attempts <= total.Messages {
		t.Errorf("grew %+v; want 3000 messages and deliveries, more attempts (some retried), %d received", total, fill.Received(3000))
	}
	if !slices.IsSorted(msgIDs) || !slices.IsSorted(attemptIDs) {
		t.Error("message or attempt IDs do not grow with the history")
	}
	if err := st.Settle(ctx); err != nil {
		t.Error(err)
	}
	if n, err := st.DiskSize(ctx); err != nil || n < 3000*500 {
		t.Errorf("DiskSize = %d, %v; want the file's size, at least 500 bytes a message", n, err)
	}
	if h.MessageTime(0).Before(h.End.Add(-h.Span)) || !h.MessageTime(2999).Before(h.End) {
		t.Errorf("messages from %s to %s; want within the span", h.MessageTime(0), h.MessageTime(2999))
	}
}
