package dispatch

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// sizedTasks returns n tasks to ep, each of a message of its own with a
// payload of size bytes.
func sizedTasks(ep *hookline.Endpoint, n, size int) []store.Task {
	ts := make([]store.Task, n)
	for i := range ts {
		m := newMessage()
		m.Payload = []byte(`{"p":"` + string(bytes.Repeat([]byte("x"), size-len(`{"p":""}`))) + `"}`)
		ts[i] = newTask(ep, m)
	}
	return ts
}

// waitFor waits, a bounded while, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHeldBytesBound checks that the deliveries a dispatcher holds, waiting
// or being sent, carry at most MaxHeldBytes of payloads: a claim that
// brings more keeps what fits and hands the rest back to the store, the
// next claims and leases plan with the payload size they have seen, and
// the bytes are free again once the deliveries are done.
func TestHeldBytesBound(t *testing.T) {
	const size, bound = 1024, 10 * 1024
	client, tokens := tokenClient()
	ep := newEndpoint("http://127.0.0.1:9/hook")
	all := sizedTasks(ep, 25, size)
	st := newFakeStore(all...)
	d := startDispatcher(t, st, Options{Client: client, Workers: 2, PerEndpoint: 2, EndpointQueue: 100,
		EndpointQueueMax: 100, MaxQueued: 100, MaxHeldBytes: bound, PollInterval: time.Hour, Now: fixedNow})
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			close(tokens) // before the dispatcher stops
		}
	})

	// Nothing seen yet: the first claim plans each delivery at a 64th of
	// the bound, takes all 25 and keeps the first ten, 10 KiB.
	st.wait(t, "the rest handed back", func() bool { return len(st.released) == 15 })
	waitFor(t, "two being sent", func() bool { return d.Stats().Queued == 8 })
	if s := d.Stats(); s.HeldBytes != bound {
		t.Errorf("held %d bytes, want %d", s.HeldBytes, bound)
	}
	var want []string
	for _, t := range all[10:] {
		want = append(want, t.Delivery.ID)
	}
	if _, released := st.snapshot(); !slices.Equal(released, want) {
		t.Errorf("handed back %v, want the last 15 claimed", released)
	}
	if l := d.Lease(); l != nil {
		t.Errorf("lease with the bytes full = %+v, want none", l)
	}

	// The released deliveries are due again; room for them comes as the
	// first ones are sent, and claims now plan with 1 KiB a delivery: once
	// half of the bound is free, the workers wake the claimer.
	st.add(all[10:]...)
	for range 5 {
		tokens <- struct{}{}
	}
	st.wait(t, "five sent", func() bool { return count(st.results, ep.ID, hookline.StatusSuccess) == 5 })
	st.wait(t, "a claim planned by bytes", func() bool {
		last := st.claims[len(st.claims)-1]
		return last.Limit > 0 && last.Limit <= bound/size
	})
	for i := range 20 {
		select {
		case tokens <- struct{}{}:
		case <-time.After(5 * time.Second):
			st.mu.Lock()
			claims, results := len(st.claims), len(st.results)
			st.mu.Unlock()
			t.Fatalf("request %d of the last 20 never came: %+v, %d claims, %d results", i, d.Stats(), claims, results)
		}
	}
	st.wait(t, "all 25 sent", func() bool { return count(st.results, ep.ID, hookline.StatusSuccess) == 25 })
	if s := d.Stats(); s.HeldBytes != 0 {
		t.Errorf("held %d bytes with everything sent, want 0", s.HeldBytes)
	}
	close(tokens)
	stopped = true
}

// TestHeldBytesCountMessagesOnce checks that the deliveries of one message
// to many endpoints hold its payload once, and that a payload larger than
// the bound is still taken when nothing else is held.
func TestHeldBytesCountMessagesOnce(t *testing.T) {
	client, tokens := tokenClient()
	st := newFakeStore()
	d := startDispatcher(t, st, Options{Client: client, Workers: 1, PerEndpoint: 1, MaxHeldBytes: 4096, PollInterval: time.Hour, Now: fixedNow})
	t.Cleanup(func() { close(tokens) }) // before the dispatcher stops

	big := sizedTasks(newEndpoint("http://127.0.0.1:9/big"), 1, 8192)
	d.Deliver(big, testNow.Add(time.Hour))
	if s := d.Stats(); s.HeldBytes != 8192 {
		t.Fatalf("held %d bytes, want the 8 KiB payload over the bound, alone", s.HeldBytes)
	}
	tokens <- struct{}{}
	st.wait(t, "the large one sent", func() bool { return len(st.results) == 1 })

	m := sizedTasks(nil, 1, 1024)[0].Message
	var fan []store.Task
	for i := range 10 {
		fan = append(fan, newTask(newEndpoint(fmt.Sprintf("http://127.0.0.1:9/%d", i)), m))
	}
	d.Deliver(fan, testNow.Add(time.Hour))
	if s := d.Stats(); s.HeldBytes != 1024 {
		t.Errorf("held %d bytes for one 1 KiB message to 10 endpoints, want 1024", s.HeldBytes)
	}
	if _, released := st.snapshot(); len(released) != 0 {
		t.Errorf("handed back %d deliveries of a message within the bound", len(released))
	}
	for range 10 {
		tokens <- struct{}{}
	}
	st.wait(t, "the fan-out sent", func() bool { return len(st.results) == 11 })
	if s := d.Stats(); s.HeldBytes != 0 {
		t.Errorf("held %d bytes with everything sent, want 0", s.HeldBytes)
	}
}

// releasingStore makes the deliveries handed back due again, as the real
// stores do.
type releasingStore struct{ *fakeStore }

func (s releasingStore) DeliveryRelease(ctx context.Context, ids []string) error {
	s.mu.Lock()
	for _, id := range ids {
		t := s.all[id]
		t.Delivery.Status = hookline.StatusPending
		s.pending = append(s.pending, t)
	}
	s.mu.Unlock()
	return s.fakeStore.DeliveryRelease(ctx, ids)
}

// TestHeldBytesAfterOversizedPayload checks that a payload larger than the
// bound, sent alone, does not leave the dispatcher planning no room at all.
func TestHeldBytesAfterOversizedPayload(t *testing.T) {
	st := newFakeStore()
	d := startDispatcher(t, st, Options{Client: answer(http.StatusOK), Workers: 1, PerEndpoint: 1,
		MaxHeldBytes: 4096, PollInterval: time.Hour, Now: fixedNow})
	d.Deliver(sizedTasks(newEndpoint("http://127.0.0.1:9/big"), 1, 8192), testNow.Add(time.Hour))
	st.wait(t, "the large one sent", func() bool { return len(st.results) == 1 })
	waitFor(t, "nothing held", func() bool { return d.Stats().HeldBytes == 0 })
	st.add(sizedTasks(newEndpoint("http://127.0.0.1:9/small"), 5, 100)...)
	d.Wake()
	st.wait(t, "the small ones claimed and sent", func() bool { return len(st.results) == 6 })
}

// TestHeldBytesGiveBackWaitsForRoom checks that deliveries handed back for
// lack of room are not claimed again, and handed back again, before room
// for them frees up.
func TestHeldBytesGiveBackWaitsForRoom(t *testing.T) {
	block := make(chan struct{})
	slow := newEndpoint("http://127.0.0.1:9/slow")
	client := clientFunc(func(r *Request) (int, error) {
		if r.URL == slow.URL {
			<-block
		}
		return http.StatusOK, nil
	})
	fs := newFakeStore()
	d := startDispatcher(t, releasingStore{fs}, Options{Client: client, Workers: 4, PerEndpoint: 1, ClaimBatch: 8,
		MaxHeldBytes: 10 << 10, PollInterval: time.Hour, Now: fixedNow})
	t.Cleanup(func() { close(block) }) // before the dispatcher stops

	// 6 KiB held by a slow request, and small payloads since, so that the
	// claims plan with little per delivery.
	d.Deliver(sizedTasks(slow, 1, 6<<10), testNow.Add(time.Hour))
	fast := newEndpoint("http://127.0.0.1:9/fast")
	for range 40 {
		d.Deliver(sizedTasks(fast, 1, 100), testNow.Add(time.Hour))
	}
	fs.wait(t, "the small ones sent", func() bool { return len(fs.results) == 40 })

	// 5 KiB payloads do not fit beside the 6 KiB: the first claim hands
	// back what it took, and no claim follows while the slow request holds
	// its room.
	fs.add(sizedTasks(newEndpoint("http://127.0.0.1:9/other"), 4, 5<<10)...)
	fs.mu.Lock()
	before := len(fs.claims)
	fs.mu.Unlock()
	d.Wake()
	fs.wait(t, "a 5 KiB payload handed back", func() bool { return len(fs.released) >= 1 })
	time.Sleep(100 * time.Millisecond)
	fs.mu.Lock()
	claims, released := len(fs.claims)-before, len(fs.released)
	fs.mu.Unlock()
	if claims > 2 || released > 4 {
		t.Errorf("%d claims and %d deliveries handed back with no room freed, want 1 claim handing back what it took", claims, released)
	}
}
