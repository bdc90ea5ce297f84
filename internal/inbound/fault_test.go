package inbound_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// faultyStore fails the lookup of sources with findErr and the storing of
// requests with storeErr, as a store does on a full disk or with its
// database down.
type faultyStore struct {
	*sqlite.Store
	findErr, storeErr error
}

func (s *faultyStore) SourceByToken(ctx context.Context, hash []byte, now time.Time) (*hookline.Source, error) {
	if s.findErr != nil {
		return nil, fmt.Errorf("find source: %w", s.findErr)
	}
	return s.Store.SourceByToken(ctx, hash, now)
}

func (s *faultyStore) ReceivedCreate(ctx context.Context, r *store.Receive) error {
	if s.storeErr != nil {
		return fmt.Errorf("store received: %w", s.storeErr)
	}
	return s.Store.ReceivedCreate(ctx, r)
}

func TestReceiveStoreFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		findErr, storeErr error
		status            int
		code              string
		retryAfter        bool
	}{
		{"full", nil, hookline.ErrStorageFull, http.StatusInsufficientStorage, "insufficient_storage", false},
		{"unreachable", hookline.ErrUnavailable, nil, http.StatusServiceUnavailable, "store_unavailable", true},
		{"down while storing", nil, hookline.ErrUnavailable, http.StatusServiceUnavailable, "store_unavailable", true},
		{"other", nil, errors.New("database is locked"), http.StatusServiceUnavailable, "unavailable", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sq, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sq.Close() })
			st := &faultyStore{Store: sq}
			svc := inbound.New(inbound.Options{Store: st, PublicURL: "https://hooks.example.com"})
			token, hash := inbound.NewToken()
			now := time.Now()
			src := &hookline.Source{ID: hookline.NewID(hookline.PrefixSource), Name: "s", TokenHash: hash,
				Response: hookline.DefaultSourceResponse, CreatedAt: now, UpdatedAt: now}
			if err := sq.SourceCreate(context.Background(), src); err != nil {
				t.Fatal(err)
			}
			st.findErr, st.storeErr = tt.findErr, tt.storeErr
			srv := httptest.NewServer(svc.Handler())
			t.Cleanup(srv.Close)
			resp, err := http.Post(srv.URL+"/in/"+token, "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b struct{ Code string }
			if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || b.Code != tt.code {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, b.Code, tt.status, tt.code)
			}
			if got := resp.Header.Get("Retry-After"); (got != "") != tt.retryAfter {
				t.Errorf("Retry-After = %q, want one: %v", got, tt.retryAfter)
			}
		})
	}
}
