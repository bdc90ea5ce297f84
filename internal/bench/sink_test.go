package bench

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestTallyCountsDuplicatesAndLatency(t *testing.T) {
	t.Parallel()
	tl := NewTally(2)
	base := time.Unix(1_700_000_000, 0)
	sent := base.UnixNano()
	deliver := func(ep int, seq int64, after time.Duration) bool {
		return tl.Delivered(ep, seq, sent, base.Add(after))
	}
	if !deliver(0, 0, 2*time.Millisecond) || !deliver(1, 0, 4*time.Millisecond) || !deliver(0, 5000, 3*time.Millisecond) {
		t.Fatal("a first delivery was not reported as first")
	}
	if deliver(0, 0, 10*time.Second) {
		t.Error("a second delivery of (0, 0) was reported as first")
	}
	deliver(0, 0, 11*time.Second)
	tl.Failed()
	tl.Foreign()
	if tl.Delivered(2, 1, sent, base) || tl.Delivered(0, -1, sent, base) || tl.Delivered(0, maxSeq, sent, base) {
		t.Error("a delivery to an unknown endpoint or sequence was counted")
	}

	st := tl.Stats()
	if st.Distinct != 3 || st.Duplicates != 2 || st.Failed != 1 || st.Foreign != 4 {
		t.Errorf("stats = %+v, want 3 distinct, 2 duplicates, 1 failed, 4 foreign", st)
	}
	// Duplicates count toward neither the latency nor the delivery phase.
	if st.Latency.Count() != 3 || st.Latency.Max() != 4*time.Millisecond {
		t.Errorf("latency count %d max %s, want 3 and 4ms", st.Latency.Count(), st.Latency.Max())
	}
	if !st.First.Equal(base.Add(2*time.Millisecond)) || !st.Last.Equal(base.Add(4*time.Millisecond)) {
		t.Errorf("phase = %s to %s", st.First, st.Last)
	}

	accepted := &SeqSet{}
	for _, seq := range []int64{0, 1, 5000} {
		accepted.Add(seq)
	}
	accepted.Add(1) // twice
	if accepted.Len() != 3 || !accepted.Has(5000) || accepted.Has(2) {
		t.Fatalf("SeqSet = %d members", accepted.Len())
	}
	// Owed: 3 messages × 2 endpoints. Delivered: (0,0), (1,0), (0,5000).
	// Lost: (0,1), (1,1), (1,5000).
	lost, unacked := tl.Missing(accepted)
	if lost != 3 || unacked != 0 {
		t.Errorf("Missing = %d lost, %d unacked; want 3, 0", lost, unacked)
	}
	tl.Delivered(1, 7, sent, base)
	if _, unacked := tl.Missing(accepted); unacked != 1 {
		t.Errorf("a delivery of a message never accepted: unacked = %d, want 1", unacked)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	for _, size := range []int{10, 64, 1024, 65536} {
		b := AppendPayload([]byte("prefix"), 123456, 1_700_000_000_123_456_789, size)
		p := b[len("prefix"):]
		if size >= 64 && len(p) != size {
			t.Errorf("size %d: payload is %d bytes", size, len(p))
		}
		seq, sent, ok := ParsePayload(p)
		if !ok || seq != 123456 || sent != 1_700_000_000_123_456_789 {
			t.Errorf("size %d: ParsePayload = %d, %d, %v", size, seq, sent, ok)
		}
	}
	for _, bad := range []string{``, `{"seq":1}`, `{"seq":x,"sent":2}`, `{"sent":2}`} {
		if _, _, ok := ParsePayload([]byte(bad)); ok {
			t.Errorf("ParsePayload(%s) succeeded", bad)
		}
	}
}

func post(t *testing.T, url string, seq int64) (int, error) {
	t.Helper()
	body := AppendPayload(nil, seq, time.Now().UnixNano(), 100)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestSinkAnswersAndTallies(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	s, err := StartSink("run1", SinkOptions{Endpoints: 2, FailRate: 0.5, Rand: func() float64 {
		// Fail every other request, starting with the first.
		if n.Add(1)%2 == 1 {
			return 0.1
		}
		return 0.9
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []int{http.StatusInternalServerError, http.StatusOK, http.StatusInternalServerError, http.StatusOK}
	for i, w := range want {
		code, err := post(t, s.URL(1), 42)
		if err != nil || code != w {
			t.Fatalf("request %d: %d, %v; want %d", i, code, err, w)
		}
	}
	if code, _ := post(t, "http://"+s.addr+"/r/other/e/0", 1); code != http.StatusNotFound {
		t.Errorf("another run's delivery answered %d, want 404", code)
	}
	st := s.Tally().Stats()
	if st.Distinct != 1 || st.Duplicates != 1 || st.Failed != 2 || st.Foreign != 1 {
		t.Errorf("stats = %+v; want 1 distinct, 1 duplicate, 2 failed, 1 foreign", st)
	}
}

func TestSinkHoldsUntilUp(t *testing.T) {
	t.Parallel()
	s, err := StartSink("run2", SinkOptions{Endpoints: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetMode(SinkHold); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code int
		err  error
	}
	got := make(chan answer, 2)
	go func() { c, err := post(t, s.URL(0), 1); got <- answer{c, err} }()
	select {
	case a := <-got:
		t.Fatalf("held request answered %+v while down", a)
	case <-time.After(50 * time.Millisecond):
	}
	if err := s.SetMode(SinkUp); err != nil {
		t.Fatal(err)
	}
	if a := <-got; a.err != nil || a.code != http.StatusOK {
		t.Fatalf("held request answered %+v after up, want 200", a)
	}
	if s.Tally().Distinct() != 1 {
		t.Errorf("held delivery not counted once up")
	}

	// Switching from holding to 503 turns the held requests away.
	s.SetMode(SinkHold)
	go func() { c, err := post(t, s.URL(0), 2); got <- answer{c, err} }()
	waitHeld(t, s)
	s.SetMode(SinkUnavailable)
	if a := <-got; a.err != nil || a.code != http.StatusServiceUnavailable {
		t.Fatalf("held request answered %+v after 503 mode, want 503", a)
	}
	if code, _ := post(t, s.URL(0), 3); code != http.StatusServiceUnavailable {
		t.Errorf("in 503 mode answered %d", code)
	}
	if s.Tally().Distinct() != 1 {
		t.Errorf("turned-away requests were counted as delivered")
	}
}

// TestSinkForgetsAbandonedRequests checks that a held request whose sender
// went away, as a killed server does, is not counted when the sink comes
// up: the sender never saw an answer and sends it again.
func TestSinkForgetsAbandonedRequests(t *testing.T) {
	t.Parallel()
	s, err := StartSink("run4", SinkOptions{Endpoints: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetMode(SinkHold)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL(0), bytes.NewReader(AppendPayload(nil, 1, 1, 64)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	// Wait until the request is held, then let its sender go.
	waitHeld(t, s)
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	<-done
	for s.Tally().Stats().Abandoned == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := s.SetMode(SinkUp); err != nil {
		t.Fatal(err)
	}
	st := s.Tally().Stats()
	if st.Abandoned != 1 || st.Distinct != 0 {
		t.Errorf("abandoned %d, delivered %d; want 1 and 0", st.Abandoned, st.Distinct)
	}
}

// waitHeld waits, a bounded while, until s holds a request.
func waitHeld(t *testing.T, s *Sink) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.heldCount() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no request held after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSinkForgetsDelayedRequestsWhoseSenderLeft checks that a slow
// receiver does not count a delivery whose sender gave up waiting for the
// answer (its request timed out): the sender sends it again.
func TestSinkForgetsDelayedRequestsWhoseSenderLeft(t *testing.T) {
	t.Parallel()
	s, err := StartSink("run5", SinkOptions{Endpoints: 1, Delay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := impatient.Post(s.URL(0), "application/json", bytes.NewReader(AppendPayload(nil, 1, 1, 64))); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the delay", resp.StatusCode)
	}
	// A patient delivery sent after the first is answered after it, so by
	// then the sink has decided about the first.
	if code, err := post(t, s.URL(0), 2); err != nil || code != http.StatusOK {
		t.Fatalf("patient delivery: %d, %v", code, err)
	}
	st := s.Tally().Stats()
	if st.Distinct != 1 || st.Duplicates != 0 {
		t.Errorf("delivered %d, duplicates %d; want only the patient delivery", st.Distinct, st.Duplicates)
	}
}

func TestSinkRefusesThenComesBack(t *testing.T) {
	// Not parallel: the refused port is free while refusing, and a test
	// running alongside could listen on it and answer the connection.
	s, err := StartSink("run3", SinkOptions{Endpoints: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A kept-alive connection is cut off too: a sender must not reach a
	// refusing receiver over a connection it already had.
	kept := &http.Client{Transport: &http.Transport{}}
	resp, err := kept.Post(s.URL(0), "application/json", bytes.NewReader(AppendPayload(nil, 1, 1, 64)))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("before refusing: %v, %v", resp, err)
	}
	resp.Body.Close()
	if s.ln.Open() == 0 {
		t.Fatal("the delivery's connection was not kept alive")
	}
	if err := s.SetMode(SinkRefuse); err != nil {
		t.Fatal(err)
	}
	if n := s.ln.Open(); n != 0 {
		t.Errorf("%d connections open in refuse mode, want 0", n)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL(0), bytes.NewReader(AppendPayload(nil, 1, 1, 64)))
	if _, err := client.Do(req); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refuse mode: %v, want connection refused", err)
	}
	if err := s.SetMode(SinkUp); err != nil {
		t.Fatal(err)
	}
	if code, err := post(t, s.URL(0), 2); err != nil || code != http.StatusOK {
		t.Fatalf("after coming back: %d, %v", code, err)
	}
}

func TestParseSinkMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]SinkMode{"hold": SinkHold, "refuse": SinkRefuse, "503": SinkUnavailable} {
		if got, err := ParseSinkMode(in); err != nil || got != want {
			t.Errorf("ParseSinkMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSinkMode("down"); err == nil {
		t.Error("ParseSinkMode(down) succeeded")
	}
}
