package metrics

import (
	"testing"
	"time"

	"github.com/hookline/hookline"
)

func TestHistory(t *testing.T) {
	m := New(Options{})
	now := time.Date(2026, 1, 2, 10, 0, 30, 0, time.UTC)
	h := m.NewHistory(func() time.Time { return now })
	m.Published(5)
	m.Attempted(hookline.StatusSuccess, time.Millisecond, time.Millisecond)
	m.Received("src_1", "accepted")
	m.Received("src_1", "rejected")
	m.Received("src_1", "too_large")
	now = now.Add(time.Minute)
	h.Tick()
	m.Published(2)
	now = now.Add(time.Minute)
	h.Tick()

	mins := h.Series(time.Minute, 3)
	if len(mins) != 3 || mins[2].Published != 2 || mins[1].Published != 5 || mins[0].Published != 0 {
		t.Fatalf("minutes %+v", mins)
	}
	if mins[1].Succeeded != 1 || mins[1].Accepted != 1 || mins[1].Rejected != 2 {
		t.Errorf("the first minute %+v", mins[1])
	}
	if want := time.Date(2026, 1, 2, 10, 2, 0, 0, time.UTC); !mins[2].Start.Add(time.Minute).Equal(want) {
		t.Errorf("the newest minute starts at %s", mins[2].Start)
	}
	if got := h.Sources(); len(got) != 1 || got[0].Source != "src_1" || got[0].Accepted != 1 || got[0].Rejected != 2 {
		t.Errorf("sources %+v", got)
	}
	hours := h.Series(time.Hour, 2)
	if hours[1].Published != 7 || hours[0].Published != 0 {
		t.Errorf("hours %+v", hours)
	}
	// A day later, what was counted has left the history.
	for range historyMinutes {
		now = now.Add(time.Minute)
		h.Tick()
	}
	if got := h.Series(time.Hour, 24); got[23].Published != 0 || got[0].Published != 0 {
		t.Errorf("after a day: %+v", got)
	}
}
