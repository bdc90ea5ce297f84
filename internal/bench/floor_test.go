package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServeFloor checks the floor server's one job: a POST is answered 202
// only once its body is in the file, and the body then reaches the
// receiver.
func TestServeFloor(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer recv.Close()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "floor.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeFloor(ctx, FloorOptions{Addr: addr, File: file, DeliverTo: recv.URL + "/e0"}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeFloor: %v", err)
		}
	}()

	body := []byte(`{"eventType":"bench.event","payload":{"seq":7,"sent":1}}`)
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err = http.Post("http://"+addr+"/msg", "application/json", bytes.NewReader(body))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	if b, err := os.ReadFile(file); err != nil || !bytes.HasPrefix(b, body) {
		t.Errorf("file holds %q (%v), want the body", b, err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, body) {
			t.Errorf("receiver got %q, want %q", b, body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got nothing")
	}

	resp, err = http.Get("http://" + addr + "/msg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET: status %d, want 400", resp.StatusCode)
	}
}

// TestRealFloor runs a floor scenario briefly as the command does, with
// the floor server as a child process, and checks its accounting. It
// asserts no speed.
func TestRealFloor(t *testing.T) {
	t.Parallel()
	bin := hooklineBinary(t)
	opts := DefaultOptions()
	opts.Server = bin
	opts.Scenarios = []string{"floor-100"}
	opts.Duration = time.Second
	opts.Overrides = map[string]bool{"duration": true}
	rep := runBench(t, opts)
	if len(rep.Results) != 1 {
		t.Fatalf("%d results, want 1", len(rep.Results))
	}
	r := rep.Results[0]
	if r.Error != "" || r.Accepted < 50 || r.Delivered != r.Accepted || r.Lost != 0 || r.Duplicates != 0 {
		t.Errorf("error %q, accepted %d, delivered %d, lost %d, duplicates %d",
			r.Error, r.Accepted, r.Delivered, r.Lost, r.Duplicates)
	}
	if r.Server == nil || r.Server.CPUSeconds <= 0 || r.Server.Version != "floor" {
		t.Errorf("server = %+v", r.Server)
	}
}
