package hookline

import (
	"fmt"
	"testing"
)

// BenchmarkAccepts measures fan-out matching: one message checked against
// the 100 endpoints of an app, which the store does for every message it
// creates. The endpoints mix what subscriptions look like: all events,
// a few event types, channels, and some disabled.
func BenchmarkAccepts(b *testing.B) {
	eps := make([]Endpoint, 100)
	for i := range eps {
		e := &eps[i]
		switch i % 4 {
		case 1:
			e.EventTypes = []string{"invoice.created", "invoice.paid", "invoice.void", fmt.Sprintf("custom.%d", i)}
		case 2:
			e.Channels = []string{"eu", "us", fmt.Sprintf("tenant-%d", i)}
		case 3:
			e.EventTypes = []string{"user.created", "invoice.paid"}
			e.Channels = []string{"us"}
		}
		e.Disabled = i%10 == 9
	}
	channels := []string{"us", "tenant-7"}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = 0
		for i := range eps {
			if eps[i].Accepts("invoice.paid", channels) {
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("no endpoint accepted the message")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(eps)), "ns/endpoint")
}
