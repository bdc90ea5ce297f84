package storetest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Payloads that some databases cannot keep in a text or JSON column: JSON
// that escapes NUL or a lone surrogate (legal JSON, which PostgreSQL's
// jsonb refuses), JSON strings holding bytes that are not UTF-8 (which
// encoding/json accepts), and raw bodies with both.
var oddPayloads = []struct {
	name        string
	contentType string
	payload     string
}{
	{"escaped NUL", "", `{"s":"a\u0000b","n":[1, 2]}`},
	{"lone surrogate", "", `{"s":"\ud800"}`},
	{"not UTF-8", "", "{\"s\":\"\xff\xfe\xc3\"}"},
	{"raw NUL and not UTF-8", "application/octet-stream", "a\x00b\xff\xfe\x00"},
}

// testPayloadBytes checks that every payload is kept byte for byte: as
// stored, as listed, and as the dispatcher gets it to send.
func testPayloadBytes(t *testing.T, s store.Store) {
	a := newApp(t, s, "bytes")
	newEndpoint(t, s, a.ID, nil)
	want := map[string]string{}
	for _, p := range oddPayloads {
		m := &store.MessageCreate{Message: &hookline.Message{
			ID: hookline.NewID(hookline.PrefixMessage), AppID: a.ID, EventType: "odd", Payload: json.RawMessage(p.payload),
			ContentType: p.contentType, CreatedAt: t0,
		}}
		if p.contentType != "" {
			m.Message.Headers = map[string][]string{"X-Odd": {"plain"}}
		}
		if err := s.MessageCreate(ctx, []*store.MessageCreate{m}); err != nil {
			t.Fatalf("%s: MessageCreate: %v", p.name, err)
		}
		must(t, m.Err)
		want[m.Message.ID] = p.payload
		got, err := s.MessageGet(ctx, a.ID, m.Message.ID)
		must(t, err)
		if string(got.Payload) != p.payload {
			t.Errorf("%s: MessageGet payload %q, want %q", p.name, got.Payload, p.payload)
		}
	}
	msgs, _, err := s.MessageList(ctx, a.ID, store.MessageFilter{Page: store.Page{Limit: 10}})
	must(t, err)
	for _, m := range msgs {
		if string(m.Payload) != want[m.ID] {
			t.Errorf("MessageList payload %q, want %q", m.Payload, want[m.ID])
		}
	}
	tasks := claim(t, s, t0.Add(1), 10)
	if len(tasks) != len(oddPayloads) {
		t.Fatalf("claimed %d, want %d", len(tasks), len(oddPayloads))
	}
	for _, task := range tasks {
		if string(task.Message.Payload) != want[task.Message.ID] {
			t.Errorf("claimed payload %q, want %q", task.Message.Payload, want[task.Message.ID])
		}
	}
}

// testReceivedBytes checks that a received request is kept byte for byte
// where a sender can put any byte, its body, and where its JSON view
// escapes what PostgreSQL's jsonb refuses. (The receive URL refuses a
// query, path or header that holds a NUL or bytes that are not UTF-8.)
func testReceivedBytes(t *testing.T, s FullStore) {
	src := newSource(t, s, "bytes")
	x := newReceived(src, "", true)
	x.Body = []byte("a\x00b\xff\xfe\x00{\"s\":\"\\u0000\"}")
	x.Query = "q=%FF%00&n=caf\u00e9"
	x.View = json.RawMessage(`{"s":"\u0000","t":"\ud800"}`)
	must(t, s.ReceivedCreate(ctx, &store.Receive{Received: x}))
	got, err := s.ReceivedGet(ctx, src.ID, x.ID)
	must(t, err)
	list, _, err := s.ReceivedList(ctx, src.ID, store.ReceivedFilter{Page: store.Page{Limit: 10}})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("listed %d, want 1", len(list))
	}
	for what, r := range map[string]*hookline.Received{"ReceivedGet": got, "ReceivedList": &list[0]} {
		if diff := cmp.Diff(string(x.Body), string(r.Body)); diff != "" {
			t.Errorf("%s body (-sent +stored):\n%s", what, diff)
		}
		if r.Query != x.Query {
			t.Errorf("%s query %q, want %q", what, r.Query, x.Query)
		}
		if string(r.View) != string(x.View) {
			t.Errorf("%s view %q, want %q", what, r.View, x.View)
		}
	}
}
