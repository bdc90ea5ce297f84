package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"
)

// vector is a published signing example.
type vector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	MsgID     string `json:"msgId"`
	Timestamp int64  `json:"timestamp"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors in testdata/vectors.json")
	}
	return vs
}

func TestVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			key, err := ParseSecret(v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			ts := time.Unix(v.Timestamp, 0)
			body := []byte(v.Payload)

			// The official library confirms the vector itself.
			wh, err := standardwebhooks.NewWebhook(v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			official, err := wh.Sign(v.MsgID, ts, body)
			if err != nil {
				t.Fatal(err)
			}
			if official != v.Signature {
				t.Fatalf("official library signs %q, vector says %q", official, v.Signature)
			}

			if got := Sign(key, v.MsgID, ts, body); got != v.Signature {
				t.Errorf("Sign = %q, want %q", got, v.Signature)
			}
			if got := SignatureHeader([][]byte{key}, v.MsgID, ts, body); got != v.Signature {
				t.Errorf("SignatureHeader = %q, want %q", got, v.Signature)
			}
			h := headers(v.MsgID, strconv.FormatInt(v.Timestamp, 10), v.Signature)
			if err := Verify([][]byte{key}, h, body, ts, 0); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func headers(id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, sig)
	return h
}

// referenceSign computes a signature the obvious way, to check the
// buffer-borrowing one against.
func referenceSign(key []byte, msgID string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", msgID, ts.Unix(), body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSignMatchesReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		key   []byte
		msgID string
		ts    time.Time
		body  []byte
	}{
		{"typical", bytes.Repeat([]byte{7}, 24), "msg_2ZMKqJqCAf4xq8oHcVd1Kv7jRrB", time.Unix(1700000000, 0), []byte(`{"a":1}`)},
		{"empty body", bytes.Repeat([]byte{7}, 24), "msg_1", time.Unix(1700000000, 0), nil},
		{"empty key", nil, "msg_1", time.Unix(1700000000, 0), []byte(`{}`)},
		{"key longer than a hash block", bytes.Repeat([]byte{9}, 75), "msg_1", time.Unix(1700000000, 0), []byte(`{}`)},
		{"id longer than the scratch space", bytes.Repeat([]byte{1}, 24), strings.Repeat("x", 200), time.Unix(1700000000, 0), []byte(`{}`)},
		{"id exactly the scratch space", bytes.Repeat([]byte{1}, 24), strings.Repeat("y", scratchLen), time.Unix(1700000000, 0), []byte(`{}`)},
		{"fractional seconds are not signed", bytes.Repeat([]byte{2}, 32), "msg_1", time.Unix(1700000000, 999999999), []byte(`{}`)},
		{"time before 1970", bytes.Repeat([]byte{2}, 32), "msg_1", time.Unix(-86400, 0), []byte(`{}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := referenceSign(tt.key, tt.msgID, tt.ts, tt.body)
			if got := Sign(tt.key, tt.msgID, tt.ts, tt.body); got != want {
				t.Errorf("Sign = %q, want %q", got, want)
			}
		})
	}
}

func TestSignatureHeader(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := bytes.Repeat([]byte{1}, 24), bytes.Repeat([]byte{2}, 24), bytes.Repeat([]byte{3}, 24)
	ts := time.Unix(1700000000, 0)
	body := []byte(`{"type":"invoice.paid"}`)
	sig := func(k []byte) string { return Sign(k, "msg_1", ts, body) }
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"no keys", nil, ""},
		{"one key", [][]byte{k1}, sig(k1)},
		{"two keys", [][]byte{k1, k2}, sig(k1) + " " + sig(k2)},
		{"three keys", [][]byte{k1, k2, k3}, sig(k1) + " " + sig(k2) + " " + sig(k3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SignatureHeader(tt.keys, "msg_1", ts, body); got != tt.want {
				t.Errorf("SignatureHeader = %q, want %q", got, tt.want)
			}
			// Appending keeps what dst held and needs no spare room.
			got := AppendSignatureHeader([]byte("prefix:"), tt.keys, "msg_1", ts, body)
			if want := "prefix:" + tt.want; string(got) != want {
				t.Errorf("AppendSignatureHeader = %q, want %q", got, want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0x42}, 24)
	other := bytes.Repeat([]byte{0x43}, 24)
	const id = "msg_2ZMKqJqCAf4xq8oHcVd1Kv7jRrB"
	ts := time.Unix(1700000000, 0)
	tsText := "1700000000"
	body := []byte(`{"type":"invoice.paid","amount":1000}`)
	good := Sign(key, id, ts, body)

	tests := []struct {
		name      string
		keys      [][]byte
		header    http.Header
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error // nil, or the kind wrapped
	}{
		{name: "valid", header: headers(id, tsText, good)},
		{name: "valid among other signatures", header: headers(id, tsText, "v1,bm90IHRoaXMgb25l v1a,c2lnbmF0dXJl "+good)},
		{name: "extra spaces between signatures", header: headers(id, tsText, "  v1,bm90  "+good+"  ")},
		{name: "wrong key", keys: [][]byte{other}, header: headers(id, tsText, good), want: ErrNoMatchingSignature},
		{name: "no keys", keys: [][]byte{}, header: headers(id, tsText, good), want: ErrNoMatchingSignature},
		{name: "tampered body", header: headers(id, tsText, good), body: []byte(`{"type":"invoice.paid","amount":9999}`), want: ErrNoMatchingSignature},
		{name: "body with trailing newline", header: headers(id, tsText, good), body: append(bytes.Clone(body), '\n'), want: ErrNoMatchingSignature},
		{name: "tampered id", header: headers("msg_other", tsText, good), want: ErrNoMatchingSignature},
		{name: "tampered timestamp", header: headers(id, "1700000001", good), want: ErrNoMatchingSignature},
		{name: "tampered signature", header: headers(id, tsText, good[:len(good)-2]+"A="), want: ErrNoMatchingSignature},
		{name: "truncated signature", header: headers(id, tsText, good[:20]), want: ErrNoMatchingSignature},
		{name: "signature of another version", header: headers(id, tsText, "v2"+good[2:]), want: ErrNoMatchingSignature},
		{name: "signature without version", header: headers(id, tsText, good[3:]), want: ErrInvalidHeaders},
		{name: "empty version", header: headers(id, tsText, ","+good[3:]), want: ErrInvalidHeaders},
		{name: "empty signature", header: headers(id, tsText, "v1,"), want: ErrInvalidHeaders},
		{name: "missing id", header: headers("", tsText, good), want: ErrMissingHeaders},
		{name: "missing timestamp", header: headers(id, "", good), want: ErrMissingHeaders},
		{name: "missing signature", header: headers(id, tsText, ""), want: ErrMissingHeaders},
		{name: "no headers", header: http.Header{}, want: ErrMissingHeaders},
		{name: "timestamp not a number", header: headers(id, "yesterday", good), want: ErrInvalidHeaders},
		{name: "timestamp in milliseconds", header: headers(id, "1700000000000", good), want: ErrTimestampTooNew},
		{name: "timestamp with fraction", header: headers(id, "1700000000.5", good), want: ErrInvalidHeaders},
		{name: "timestamp overflowing", header: headers(id, "99999999999999999999", good), want: ErrInvalidHeaders},
		{name: "old within tolerance", header: headers(id, tsText, good), now: ts.Add(DefaultTolerance)},
		{name: "too old", header: headers(id, tsText, good), now: ts.Add(DefaultTolerance + time.Second), want: ErrTimestampTooOld},
		{name: "new within tolerance", header: headers(id, tsText, good), now: ts.Add(-DefaultTolerance)},
		{name: "too new", header: headers(id, tsText, good), now: ts.Add(-DefaultTolerance - time.Second), want: ErrTimestampTooNew},
		{name: "custom tolerance", header: headers(id, tsText, good), now: ts.Add(time.Hour), tolerance: 2 * time.Hour},
		{name: "custom tolerance exceeded", header: headers(id, tsText, good), now: ts.Add(3 * time.Second), tolerance: 2 * time.Second, want: ErrTimestampTooOld},
		{name: "negative tolerance means default", header: headers(id, tsText, good), now: ts.Add(time.Minute), tolerance: -time.Second},
		{name: "old timestamp checked before signature", header: headers(id, tsText, "v1,bm9wZQ=="), now: ts.Add(time.Hour), want: ErrTimestampTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys := tt.keys
			if keys == nil {
				keys = [][]byte{key}
			}
			b := tt.body
			if b == nil {
				b = body
			}
			now := tt.now
			if now.IsZero() {
				now = ts
			}
			err := Verify(keys, tt.header, b, now, tt.tolerance)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want an error of kind %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "verify webhook: ") {
				t.Errorf("error %q does not name the operation", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := bytes.Repeat([]byte{1}, 24), bytes.Repeat([]byte{2}, 32)
	ts := time.Unix(1700000000, 0)
	body := []byte(`{"rotated":true}`)
	h := headers("msg_1", "1700000000", SignatureHeader([][]byte{newKey, oldKey}, "msg_1", ts, body))
	tests := []struct {
		name string
		keys [][]byte
		want error
	}{
		{"receiver holds the old key", [][]byte{oldKey}, nil},
		{"receiver holds the new key", [][]byte{newKey}, nil},
		{"receiver holds both", [][]byte{oldKey, newKey}, nil},
		{"receiver holds neither", [][]byte{bytes.Repeat([]byte{3}, 24)}, ErrNoMatchingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := Verify(tt.keys, h, body, ts, 0); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestOfficialLibrary checks both directions against the Standard Webhooks
// reference library, which verifies against the real clock.
func TestOfficialLibrary(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	key, err := ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []struct {
		name string
		body []byte
	}{
		{"small object", []byte(`{"test": 2432232314}`)},
		{"unicode and escapes", []byte(`{"name":"Zoë \"Z\" Ünal","note":"line\nbreak"}`)},
		{"large body", []byte(`{"blob":"` + strings.Repeat("a", 64<<10) + `"}`)},
		{"empty body", []byte{}},
	}
	for _, tt := range bodies {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Now()
			ts := strconv.FormatInt(now.Unix(), 10)

			ours := headers("msg_ours", ts, SignatureHeader([][]byte{key}, "msg_ours", now, tt.body))
			if err := wh.Verify(tt.body, ours); err != nil {
				t.Errorf("official Verify of our signature: %v", err)
			}

			sig, err := wh.Sign("msg_theirs", now, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			theirs := headers("msg_theirs", ts, sig)
			if err := Verify([][]byte{key}, theirs, tt.body, now, DefaultTolerance); err != nil {
				t.Errorf("our Verify of the official signature: %v", err)
			}

			tampered := append([]byte("x"), tt.body...)
			if err := wh.Verify(tampered, ours); err == nil {
				t.Error("official Verify accepted our signature over a tampered body")
			}
		})
	}
}

// TestSvixLibrary checks that receivers using Svix's library, which reads
// the webhook-* headers when its own svix-* ones are absent, accept
// hookline's signatures.
func TestSvixLibrary(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	key, err := ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"type":"invoice.paid"}`)
	tests := []struct {
		name    string
		keys    [][]byte
		wantErr bool
	}{
		{"signed with the receiver's key", [][]byte{key}, false},
		{"rotation, receiver's key second", [][]byte{bytes.Repeat([]byte{1}, 24), key}, false},
		{"signed with another key", [][]byte{bytes.Repeat([]byte{1}, 24)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := headers("msg_1", strconv.FormatInt(now.Unix(), 10), SignatureHeader(tt.keys, "msg_1", now, body))
			if err := wh.Verify(body, h); (err != nil) != tt.wantErr {
				t.Errorf("svix Verify = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	key24 := bytes.Repeat([]byte{0xfb}, 24)
	key75 := bytes.Repeat([]byte{0x01}, 75)
	tests := []struct {
		name    string
		secret  string
		want    []byte
		wantErr bool
	}{
		{name: "with prefix", secret: "whsec_" + base64.StdEncoding.EncodeToString(key24), want: key24},
		{name: "without prefix", secret: base64.StdEncoding.EncodeToString(key24), want: key24},
		{name: "largest key", secret: "whsec_" + base64.StdEncoding.EncodeToString(key75), want: key75},
		{name: "padded key", secret: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 25)), want: bytes.Repeat([]byte{5}, 25)},
		{name: "empty", secret: "", wantErr: true},
		{name: "prefix only", secret: "whsec_", wantErr: true},
		{name: "too short", secret: "whsec_" + base64.StdEncoding.EncodeToString(key24[:21]), wantErr: true},
		{name: "32 characters but 23 bytes", secret: "whsec_" + base64.StdEncoding.EncodeToString(key24[:23]), wantErr: true},
		{name: "32 characters but 22 bytes", secret: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 22)), wantErr: true},
		{name: "too long", secret: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 76)), wantErr: true},
		{name: "url-safe alphabet", secret: "whsec_" + strings.Repeat("-_", 16), wantErr: true},
		{name: "line break", secret: "whsec_" + base64.StdEncoding.EncodeToString(key24)[:16] + "\n" + base64.StdEncoding.EncodeToString(key24)[16:], wantErr: true},
		{name: "bad padding", secret: strings.Repeat("A", 31) + "=" + "AAAA", wantErr: true},
		{name: "other prefix", secret: "whsk_" + base64.StdEncoding.EncodeToString(key24), wantErr: true},
		{name: "uppercase prefix", secret: "WHSEC_" + base64.StdEncoding.EncodeToString(key24), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSecret(tt.secret)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidSecret) {
					t.Fatalf("ParseSecret = %x, %v; want an ErrInvalidSecret", got, err)
				}
				if strings.Contains(err.Error(), strings.TrimPrefix(tt.secret, "whsec_")) && tt.secret != "" && tt.secret != "whsec_" {
					t.Errorf("error %q repeats the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("ParseSecret = %x, want %x", got, tt.want)
			}
			if f := FormatSecret(got); strings.TrimPrefix(f, "whsec_") != strings.TrimPrefix(tt.secret, "whsec_") {
				t.Errorf("FormatSecret = %q, want %q with the prefix", f, tt.secret)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 100 {
		s := NewSecret()
		if !strings.HasPrefix(s, SecretPrefix) || len(s) != len(SecretPrefix)+32 {
			t.Fatalf("NewSecret = %q, want whsec_ and 32 base64 characters", s)
		}
		key, err := ParseSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(key) != 24 {
			t.Fatalf("key is %d bytes, want 24", len(key))
		}
		if seen[s] {
			t.Fatalf("NewSecret repeated %q", s)
		}
		seen[s] = true
	}
}

// body1K is a 1 KB JSON payload, the size of a typical event.
var body1K = []byte(`{"type":"invoice.paid","data":{"id":"in_1","customer":"cus_1","lines":"` + strings.Repeat("x", 1024-64) + `"}}`)

func BenchmarkSign(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 24)
	ts := time.Unix(1700000000, 0)
	b.SetBytes(int64(len(body1K)))
	b.ReportAllocs()
	for b.Loop() {
		Sign(key, "msg_2ZMKqJqCAf4xq8oHcVd1Kv7jRrB", ts, body1K)
	}
}

func BenchmarkSignatureHeader(b *testing.B) {
	ts := time.Unix(1700000000, 0)
	for _, n := range []int{1, 2} {
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = bytes.Repeat([]byte{byte(i)}, 24)
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body1K)))
			b.ReportAllocs()
			for b.Loop() {
				SignatureHeader(keys, "msg_2ZMKqJqCAf4xq8oHcVd1Kv7jRrB", ts, body1K)
			}
		})
		b.Run(fmt.Sprintf("append/keys=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body1K)))
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				dst = AppendSignatureHeader(dst[:0], keys, "msg_2ZMKqJqCAf4xq8oHcVd1Kv7jRrB", ts, body1K)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	key := bytes.Repeat([]byte{7}, 24)
	ts := time.Unix(1700000000, 0)
	h := headers("msg_1", "1700000000", Sign(key, "msg_1", ts, body1K))
	keys := [][]byte{key}
	b.SetBytes(int64(len(body1K)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(keys, h, body1K, ts, 0); err != nil {
			b.Fatal(err)
		}
	}
}
