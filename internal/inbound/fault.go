package inbound

import (
	"errors"
	"net/http"

	"github.com/hookline/hookline"
)

// writeStoreError answers a request the store could not take, as the REST
// API answers its own: 507 when it has no room, 503 with Retry-After when
// the database cannot be reached, and 503 for any other failure, which a
// sender retries too.
func writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, hookline.ErrStorageFull):
		writeError(w, http.StatusInsufficientStorage, "insufficient_storage", "the server has no room to store the request; retry later")
	case errors.Is(err, hookline.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", "the database cannot be reached; the request was not stored; retry later")
	default:
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the request was not stored; retry later")
	}
}
