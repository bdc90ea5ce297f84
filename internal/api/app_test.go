package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline/internal/store"
)

func TestApplications(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		var a applicationOut
		e.do("POST", "/api/v1/app", map[string]any{"name": "Acme", "uid": "acme", "throttleRate": 5,
			"metadata": map[string]string{"plan": "pro"}}).want(http.StatusCreated).decode(&a)
		if !strings.HasPrefix(a.ID, "app_") || a.Name != "Acme" || deref(a.UID) != "acme" ||
			a.ThrottleRate == nil || *a.ThrottleRate != 5 || a.RateLimit == nil || *a.RateLimit != 5 ||
			a.Metadata["plan"] != "pro" || a.CreatedAt.IsZero() || a.CreatedAt.Location().String() != "UTC" {
			t.Fatalf("created %+v", a)
		}

		// By ID and by uid, the same app.
		for _, id := range []string{a.ID, "acme"} {
			var got applicationOut
			e.do("GET", "/api/v1/app/"+id, nil).want(http.StatusOK).decode(&got)
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("GET %s differs from create (-create +get):\n%s", id, diff)
			}
		}

		// A duplicate uid is a conflict, unless the caller asked to get it.
		b := e.do("POST", "/api/v1/app", map[string]any{"name": "Other", "uid": "acme"}).wantError(http.StatusConflict, "conflict")
		if !strings.Contains(b.Detail, "acme") {
			t.Errorf("conflict detail %q does not name the uid", b.Detail)
		}
		var same applicationOut
		e.do("POST", "/api/v1/app?get_if_exists=true", map[string]any{"name": "Other", "uid": "acme"}).
			want(http.StatusOK).decode(&same)
		if same.ID != a.ID || same.Name != "Acme" {
			t.Errorf("get_if_exists returned %+v, want the existing app", same)
		}
		e.do("POST", "/api/v1/app?get_if_exists=true", map[string]any{"name": "Fresh", "uid": "fresh"}).want(http.StatusCreated)

		// PUT replaces: fields left out are cleared, as in Svix.
		var put applicationOut
		e.do("PUT", "/api/v1/app/acme", map[string]any{"name": "Acme Inc", "uid": "acme"}).want(http.StatusOK).decode(&put)
		if put.ID != a.ID || put.Name != "Acme Inc" || put.ThrottleRate != nil || len(put.Metadata) != 0 {
			t.Errorf("PUT gave %+v", put)
		}
		// PUT of a missing app creates it, with the path as its uid.
		var created applicationOut
		e.do("PUT", "/api/v1/app/newco", map[string]any{"name": "NewCo"}).want(http.StatusCreated).decode(&created)
		if deref(created.UID) != "newco" {
			t.Errorf("PUT-created app has uid %v, want newco", created.UID)
		}
		e.do("PUT", "/api/v1/app/newco", map[string]any{"name": "NewCo 2", "uid": "newco"}).want(http.StatusOK)

		// PATCH changes what it names; null clears a nullable field.
		var patched applicationOut
		e.do("PATCH", "/api/v1/app/"+a.ID, map[string]any{"rateLimit": 9, "metadata": map[string]string{"k": "v"}}).
			want(http.StatusOK).decode(&patched)
		if patched.Name != "Acme Inc" || patched.ThrottleRate == nil || *patched.ThrottleRate != 9 || patched.Metadata["k"] != "v" {
			t.Errorf("PATCH gave %+v", patched)
		}
		var cleared applicationOut
		e.do("PATCH", "/api/v1/app/"+a.ID, `{"throttleRate": null, "uid": null}`).want(http.StatusOK).decode(&cleared)
		if cleared.ThrottleRate != nil || cleared.RateLimit != nil || cleared.UID != nil || cleared.Name != "Acme Inc" {
			t.Errorf("PATCH with nulls gave %+v", cleared)
		}
		e.do("PATCH", "/api/v1/app/newco", map[string]any{"uid": "fresh"}).wantError(http.StatusConflict, "conflict")

		e.do("DELETE", "/api/v1/app/"+a.ID, nil).want(http.StatusNoContent)
		b = e.do("GET", "/api/v1/app/"+a.ID, nil).wantError(http.StatusNotFound, "not_found")
		if !strings.Contains(b.Detail, a.ID) {
			t.Errorf("404 detail %q does not name the app", b.Detail)
		}
		e.do("DELETE", "/api/v1/app/"+a.ID, nil).wantError(http.StatusNotFound, "not_found")
	})
}

func TestApplicationValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newFakeStore())
	for _, tc := range []struct {
		name string
		body string
		loc  string
	}{
		{"no name", `{}`, "name"},
		{"bad uid", `{"name": "x", "uid": "has space"}`, "uid"},
		{"rate too low", `{"name": "x", "throttleRate": 0}`, "rateLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.in(t).do("POST", "/api/v1/app", tc.body).wantInvalid("body", tc.loc)
		})
	}
}

// pageThrough follows iterators from path to the last page, checking that
// every page but the last is full and says so.
func pageThrough[T any](e *env, path string, limit int) (pages [][]T, last listOut[T]) {
	e.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	url := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
	for i := 0; ; i++ {
		if i > 100 {
			e.t.Fatal("pagination does not end")
		}
		var l listOut[T]
		e.do("GET", url, nil).want(http.StatusOK).decode(&l)
		pages = append(pages, l.Data)
		if l.Done {
			return pages, l
		}
		if len(l.Data) != limit || l.Iterator == nil {
			e.t.Fatalf("page %d: %d items, iterator %v, done false", i, len(l.Data), l.Iterator)
		}
		url = fmt.Sprintf("%s%slimit=%d&iterator=%s", path, sep, limit, *l.Iterator)
	}
}

func TestApplicationPagination(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		var ids []string
		for i := range 7 {
			ids = append(ids, e.createApp(fmt.Sprintf("app %d", i), "").ID)
		}
		slices.Sort(ids) // IDs order apps; ascending is Svix's default for apps

		pages, _ := pageThrough[applicationOut](e, "/api/v1/app", 3)
		var got []string
		for _, p := range pages {
			for _, a := range p {
				got = append(got, a.ID)
			}
		}
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Fatalf("paging forward (-want +got):\n%s", diff)
		}
		if n := len(pages); n != 3 || len(pages[2]) != 1 {
			t.Fatalf("got %d pages, want 3 with 1 item on the last", n)
		}

		// prevIterator of the second page leads back to the first.
		var second, back listOut[applicationOut]
		e.do("GET", "/api/v1/app?limit=3&iterator="+ids[2], nil).want(http.StatusOK).decode(&second)
		if second.PrevIterator == nil || *second.PrevIterator != "-"+ids[3] {
			t.Fatalf("prevIterator %v, want -%s", second.PrevIterator, ids[3])
		}
		e.do("GET", "/api/v1/app?limit=3&iterator="+*second.PrevIterator, nil).want(http.StatusOK).decode(&back)
		if got := idsOf(back.Data); !slices.Equal(got, ids[:3]) || !back.Done {
			t.Errorf("prev page %v done=%v, want %v done=true", got, back.Done, ids[:3])
		}

		// Descending order reverses the list.
		var desc listOut[applicationOut]
		e.do("GET", "/api/v1/app?order=descending&limit=2", nil).want(http.StatusOK).decode(&desc)
		if got := idsOf(desc.Data); !slices.Equal(got, []string{ids[6], ids[5]}) {
			t.Errorf("descending %v, want %v", got, []string{ids[6], ids[5]})
		}

		// An empty list has no iterators.
		var empty listOut[endpointOut]
		e.do("GET", "/api/v1/app/"+ids[0]+"/endpoint", nil).want(http.StatusOK).decode(&empty)
		if empty.Data == nil || empty.Iterator != nil || empty.PrevIterator != nil || !empty.Done {
			t.Errorf("empty list %+v", empty)
		}
	})
}

func idsOf(apps []applicationOut) []string {
	var ids []string
	for _, a := range apps {
		ids = append(ids, a.ID)
	}
	return ids
}
