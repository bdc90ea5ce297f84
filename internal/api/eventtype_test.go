package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/hookline/hookline/internal/store"
)

func TestEventTypes(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		schemas := `{"1":{"type":"object","properties":{"id":{"type":"string"}}}}`
		var et eventTypeOut
		e.do("POST", "/api/v1/event-type", `{"name":"invoice.paid","description":"Paid","schemas":`+schemas+`}`).
			want(http.StatusCreated).decode(&et)
		if et.Name != "invoice.paid" || et.Description != "Paid" || et.Archived || !jsonEqual(t, et.Schemas, schemas) {
			t.Fatalf("created %+v", et)
		}

		e.do("POST", "/api/v1/event-type", map[string]any{"name": "invoice.paid", "description": "again"}).
			wantError(http.StatusConflict, "conflict")
		e.do("POST", "/api/v1/event-type", map[string]any{"name": "invoice paid", "description": ""}).wantInvalid("body", "name")
		e.do("POST", "/api/v1/event-type", map[string]any{"name": "x", "description": "", "schemas": []int{1}}).
			wantInvalid("body", "schemas")

		var got eventTypeOut
		e.do("GET", "/api/v1/event-type/invoice.paid", nil).want(http.StatusOK).decode(&got)
		if !jsonEqual(t, got.Schemas, schemas) {
			t.Errorf("GET schemas %s", got.Schemas)
		}
		e.do("GET", "/api/v1/event-type/nope", nil).wantError(http.StatusNotFound, "not_found")

		// Lists leave schemas out unless asked.
		e.createEventType("user.created")
		var list listOut[eventTypeOut]
		e.do("GET", "/api/v1/event-type", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 2 || list.Data[0].Name != "invoice.paid" || !isNull(list.Data[0].Schemas) {
			t.Errorf("list %+v", list.Data)
		}
		e.do("GET", "/api/v1/event-type?with_content=true&limit=1", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 1 || isNull(list.Data[0].Schemas) || list.Done || *list.Iterator != "invoice.paid" {
			t.Errorf("list with content %+v", list)
		}
		e.do("GET", "/api/v1/event-type?limit=1&iterator=invoice.paid", nil).want(http.StatusOK).decode(&list)
		if len(list.Data) != 1 || list.Data[0].Name != "user.created" || !list.Done {
			t.Errorf("second page %+v", list)
		}

		// PUT creates (201) and replaces (200); PATCH changes what it names.
		e.do("PUT", "/api/v1/event-type/order.shipped", map[string]any{"description": "Shipped"}).want(http.StatusCreated)
		e.do("PUT", "/api/v1/event-type/order.shipped", map[string]any{"description": "Sent", "deprecated": true}).
			want(http.StatusOK).decode(&got)
		if got.Name != "order.shipped" || got.Description != "Sent" || !got.Deprecated {
			t.Errorf("PUT gave %+v", got)
		}
		var patched eventTypeOut
		e.do("PATCH", "/api/v1/event-type/order.shipped", `{"deprecated": false, "schemas": {"1": {}}}`).
			want(http.StatusOK).decode(&patched)
		if patched.Description != "Sent" || patched.Deprecated || isNull(patched.Schemas) {
			t.Errorf("PATCH gave %+v", patched)
		}
		e.do("PATCH", "/api/v1/event-type/order.shipped", `{"schemas": null}`).want(http.StatusOK).decode(&patched)
		if !isNull(patched.Schemas) {
			t.Errorf("PATCH schemas null gave %s", patched.Schemas)
		}

		// DELETE archives: hidden from lists unless asked, still readable,
		// and a create brings it back.
		e.do("DELETE", "/api/v1/event-type/user.created", nil).want(http.StatusNoContent)
		e.do("GET", "/api/v1/event-type", nil).want(http.StatusOK).decode(&list)
		if names := etNames(list.Data); len(names) != 2 {
			t.Errorf("after archiving, list has %v", names)
		}
		e.do("GET", "/api/v1/event-type?include_archived=true", nil).want(http.StatusOK).decode(&list)
		if names := etNames(list.Data); len(names) != 3 {
			t.Errorf("with archived, list has %v", names)
		}
		e.do("GET", "/api/v1/event-type/user.created", nil).want(http.StatusOK).decode(&got)
		if !got.Archived {
			t.Error("deleted event type is not archived")
		}
		e.do("POST", "/api/v1/event-type", map[string]any{"name": "user.created", "description": "back"}).
			want(http.StatusCreated).decode(&got)
		if got.Archived || got.Description != "back" {
			t.Errorf("unarchived %+v", got)
		}

		// expunge deletes for good.
		e.do("DELETE", "/api/v1/event-type/user.created?expunge=true", nil).want(http.StatusNoContent)
		e.do("GET", "/api/v1/event-type/user.created", nil).wantError(http.StatusNotFound, "not_found")
	})
}

func etNames(ets []eventTypeOut) []string {
	var names []string
	for _, e := range ets {
		names = append(names, e.Name)
	}
	return names
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ax, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return string(ax) == string(by)
}

// isNull reports whether a decoded JSON value was null or absent.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
