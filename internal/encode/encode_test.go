package encode

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestBodyJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		format  hookline.Format
		payload string
	}{
		{"json", hookline.FormatJSON, `{"test": 2432232314}`},
		{"zero format means json", "", `{"a":1}`},
		{"leading whitespace kept", hookline.FormatJSON, " \n{\"a\":1}\n"},
		{"number text kept", hookline.FormatJSON, `{"value":10.00}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := []byte(tt.payload)
			body, ct, err := Body(tt.format, payload)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.payload || ct != ContentTypeJSON {
				t.Errorf("Body = %q, %q; want %q, %q", body, ct, tt.payload, ContentTypeJSON)
			}
			if &body[0] != &payload[0] {
				t.Error("Body copied a JSON payload; it should return it as is")
			}
			appended, ct, err := AppendBody([]byte("x"), tt.format, payload)
			if err != nil || string(appended) != "x"+tt.payload || ct != ContentTypeJSON {
				t.Errorf("AppendBody = %q, %q, %v; want %q", appended, ct, err, "x"+tt.payload)
			}
		})
	}
}

func TestForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    string
		values  url.Values // what a receiver decodes, when worth checking
	}{
		{
			name:    "flat strings",
			payload: `{"Customer":"bob","value":"10.00","item":"paper"}`,
			want:    `Customer=bob&value=10.00&item=paper`,
		},
		{
			name:    "published order, not sorted",
			payload: `{"z":1,"a":2,"m":3}`,
			want:    `z=1&a=2&m=3`,
		},
		{
			name:    "numbers as written",
			payload: `{"a":10.00,"b":1e+5,"c":-0.5,"d":12345678901234567890,"e":0}`,
			want:    `a=10.00&b=1e%2B5&c=-0.5&d=12345678901234567890&e=0`,
			values:  url.Values{"a": {"10.00"}, "b": {"1e+5"}, "c": {"-0.5"}, "d": {"12345678901234567890"}, "e": {"0"}},
		},
		{
			name:    "booleans and null",
			payload: `{"t":true,"f":false,"n":null}`,
			want:    `t=true&f=false&n=`,
			values:  url.Values{"t": {"true"}, "f": {"false"}, "n": {""}},
		},
		{
			name:    "reserved characters escaped",
			payload: `{"q":"a b&c=d/e?f#g+h%","k ey":"x","ü":"é"}`,
			want:    `q=a+b%26c%3Dd%2Fe%3Ff%23g%2Bh%25&k+ey=x&%C3%BC=%C3%A9`,
			values:  url.Values{"q": {"a b&c=d/e?f#g+h%"}, "k ey": {"x"}, "ü": {"é"}},
		},
		{
			name:    "json escapes decoded first",
			payload: `{"s":"line\nbreak \"quoted\" \u00e9 \/"}`,
			want:    `s=line%0Abreak+%22quoted%22+%C3%A9+%2F`,
			values:  url.Values{"s": {"line\nbreak \"quoted\" é /"}},
		},
		{
			name:    "nested object and array",
			payload: `{"a":{"b":1,"c":["x","y"]}}`,
			want:    `a%5Bb%5D=1&a%5Bc%5D%5B0%5D=x&a%5Bc%5D%5B1%5D=y`,
			values:  url.Values{"a[b]": {"1"}, "a[c][0]": {"x"}, "a[c][1]": {"y"}},
		},
		{
			name:    "array of objects",
			payload: `{"lines":[{"id":"il_1","qty":2},{"id":"il_2","qty":1}]}`,
			want:    `lines%5B0%5D%5Bid%5D=il_1&lines%5B0%5D%5Bqty%5D=2&lines%5B1%5D%5Bid%5D=il_2&lines%5B1%5D%5Bqty%5D=1`,
			values:  url.Values{"lines[0][id]": {"il_1"}, "lines[0][qty]": {"2"}, "lines[1][id]": {"il_2"}, "lines[1][qty]": {"1"}},
		},
		{
			name:    "nested arrays",
			payload: `{"m":[[1,2],[3]]}`,
			want:    `m%5B0%5D%5B0%5D=1&m%5B0%5D%5B1%5D=2&m%5B1%5D%5B0%5D=3`,
			values:  url.Values{"m[0][0]": {"1"}, "m[0][1]": {"2"}, "m[1][0]": {"3"}},
		},
		{
			// A key holding brackets reads as one more level of nesting
			// to a bracket-aware decoder; form encoding cannot say otherwise.
			name:    "nested keys escaped",
			payload: `{"meta data":{"utm source":"news&letter","a[b]":"c"}}`,
			want:    `meta+data%5Butm+source%5D=news%26letter&meta+data%5Ba%5Bb%5D%5D=c`,
			values:  url.Values{"meta data[utm source]": {"news&letter"}, "meta data[a[b]]": {"c"}},
		},
		{
			name:    "empty object and array contribute nothing",
			payload: `{"a":{},"b":[],"c":1,"d":{"e":[]},"f":[[],{}]}`,
			want:    `c=1`,
		},
		{
			name:    "empty payload",
			payload: `{}`,
			want:    ``,
		},
		{
			name:    "duplicate keys kept in order",
			payload: `{"a":1,"b":2,"a":3}`,
			want:    `a=1&b=2&a=3`,
			values:  url.Values{"a": {"1", "3"}, "b": {"2"}},
		},
		{
			name:    "empty key",
			payload: `{"":"v"}`,
			want:    `=v`,
		},
		{
			name:    "whitespace around the object",
			payload: " \n{ \"a\" : 1 }\n ",
			want:    `a=1`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, ct, err := Body(hookline.FormatForm, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if ct != ContentTypeForm {
				t.Errorf("content type %q, want %q", ct, ContentTypeForm)
			}
			if string(body) != tt.want {
				t.Errorf("body:\n got %s\nwant %s", body, tt.want)
			}
			got, err := url.ParseQuery(string(body))
			if err != nil {
				t.Fatalf("body does not decode: %v", err)
			}
			if tt.values != nil {
				if diff := cmp.Diff(tt.values, got); diff != "" {
					t.Errorf("decoded form (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    string // the content of <payload>
	}{
		{
			name:    "flat strings",
			payload: `{"Customer":"bob","value":"10.00","item":"paper"}`,
			want:    `<Customer>bob</Customer><value>10.00</value><item>paper</item>`,
		},
		{
			name:    "scalars as written",
			payload: `{"a":10.00,"b":1e+5,"t":true,"f":false}`,
			want:    `<a>10.00</a><b>1e+5</b><t>true</t><f>false</f>`,
		},
		{
			name:    "text escaped",
			payload: `{"s":"<a & 'b'> \"c\"","nl":"x\ny"}`,
			want:    `<s>&lt;a &amp; &#39;b&#39;&gt; &#34;c&#34;</s><nl>x&#xA;y</nl>`,
		},
		{
			name:    "characters xml forbids replaced",
			payload: `{"s":"a\u0001b\u0000c"}`,
			want:    "<s>a\uFFFDb\uFFFDc</s>",
		},
		{
			name:    "null, empty string, empty object, empty array",
			payload: `{"n":null,"e":"","o":{},"a":[]}`,
			want:    `<n/><e></e><o></o>`,
		},
		{
			name:    "nested objects",
			payload: `{"a":{"b":1,"c":{"d":"x"}}}`,
			want:    `<a><b>1</b><c><d>x</d></c></a>`,
		},
		{
			name:    "array repeats its key",
			payload: `{"tag":["a","b",null]}`,
			want:    `<tag>a</tag><tag>b</tag><tag/>`,
		},
		{
			name:    "array of objects",
			payload: `{"line":[{"id":1},{"id":2}]}`,
			want:    `<line><id>1</id></line><line><id>2</id></line>`,
		},
		{
			name:    "nested arrays use item",
			payload: `{"m":[[1,2],[3],[]]}`,
			want:    `<m><item>1</item><item>2</item></m><m><item>3</item></m><m></m>`,
		},
		{
			name:    "deeply nested arrays",
			payload: `{"m":[[[1],{"k":[2,3]}]]}`,
			want:    `<m><item><item>1</item></item><item><k>2</k><k>3</k></item></m>`,
		},
		{
			name:    "published order and duplicates kept",
			payload: `{"z":1,"a":2,"z":3}`,
			want:    `<z>1</z><a>2</a><z>3</z>`,
		},
		{
			name:    "valid names kept",
			payload: `{"ok.name-1":1,"_x":2,"X9":3}`,
			want:    `<ok.name-1>1</ok.name-1><_x>2</_x><X9>3</X9>`,
		},
		{
			name:    "invalid names sanitized",
			payload: `{"1st":1,"a b":2,"ns:x":3,"":4,"-x":5,".x":6,"a<b\"c":7,"€":8,"zoë":9,"日本":10,"é":11}`,
			want: `<_1st name="1st">1</_1st><a_b name="a b">2</a_b><ns_x name="ns:x">3</ns_x><_ name="">4</_>` +
				`<_-x name="-x">5</_-x><_.x name=".x">6</_.x><a_b_c name="a&lt;b&#34;c">7</a_b_c><_ name="€">8</_>` +
				`<zo_ name="zoë">9</zo_><__ name="日本">10</__><_ name="é">11</_>`,
		},
		{
			name:    "sanitized name on null and nested",
			payload: `{"2":null,"3":{"4":[5]}}`,
			want:    `<_2 name="2"/><_3 name="3"><_4 name="4">5</_4></_3>`,
		},
		{
			name:    "empty payload",
			payload: `{}`,
			want:    ``,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, ct, err := Body(hookline.FormatXML, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if ct != ContentTypeXML {
				t.Errorf("content type %q, want %q", ct, ContentTypeXML)
			}
			want := xml.Header + "<payload>" + tt.want + "</payload>"
			if string(body) != want {
				t.Errorf("body:\n got %s\nwant %s", body, want)
			}
			checkXML(t, body)
		})
	}
}

// checkXML fails t unless body is one well-formed document with a
// <payload> root.
func checkXML(t testing.TB, body []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	roots := 0
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("body does not parse: %v\n%s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tok.Name.Local != "payload" {
					t.Fatalf("root element %q, want payload", tok.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		t.Fatalf("%d root elements, want 1", roots)
	}
}

// node is a parsed XML element, to compare what a receiver reads.
type node struct {
	Name     string
	Attr     map[string]string
	Text     string
	Children []node
}

func parseXML(t *testing.T, body []byte) node {
	t.Helper()
	var root struct {
		Node xmlNode `xml:"payload"`
	}
	wrapped := strings.Replace(string(body), xml.Header, xml.Header+"<doc>", 1) + "</doc>"
	if err := xml.Unmarshal([]byte(wrapped), &root); err != nil {
		t.Fatal(err)
	}
	return root.Node.node()
}

type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []xmlNode  `xml:",any"`
}

func (x xmlNode) node() node {
	n := node{Name: x.XMLName.Local, Text: x.Text}
	for _, a := range x.Attrs {
		if n.Attr == nil {
			n.Attr = make(map[string]string)
		}
		n.Attr[a.Name.Local] = a.Value
	}
	for _, c := range x.Children {
		n.Children = append(n.Children, c.node())
	}
	return n
}

// TestXMLReadsBack checks what an XML parser makes of an encoded payload:
// original keys in name attributes, text unescaped.
func TestXMLReadsBack(t *testing.T) {
	t.Parallel()
	payload := `{"1 & 2":"<b>bold</b>","list":[{"x":"é"},[true]],"nil":null}`
	body, _, err := Body(hookline.FormatXML, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := node{Name: "payload", Children: []node{
		{Name: "_1___2", Attr: map[string]string{"name": "1 & 2"}, Text: "<b>bold</b>"},
		{Name: "list", Children: []node{{Name: "x", Text: "é"}}},
		{Name: "list", Children: []node{{Name: "item", Text: "true"}}},
		{Name: "nil"},
	}}
	if diff := cmp.Diff(want, parseXML(t, body)); diff != "" {
		t.Errorf("parsed XML (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	nest := func(open, close string, n int) string {
		return `{"a":` + strings.Repeat(open, n-1) + "1" + strings.Repeat(close, n-1) + "}"
	}
	tests := []struct {
		name    string
		payload string
		formats []hookline.Format // the formats that refuse it
	}{
		{"empty", ``, all},
		{"whitespace only", " \n", all},
		{"array", `[1,2]`, all},
		{"string", `"s"`, all},
		{"number", `1`, all},
		{"null", `null`, all},
		{"unterminated object", `{"a":1`, parsed},
		{"missing value", `{"a":}`, parsed},
		{"trailing comma", `{"a":1,}`, parsed},
		{"single quotes", `{'a':1}`, parsed},
		{"second object", `{"a":1} {"b":2}`, parsed},
		{"trailing garbage", `{"a":1}x`, parsed},
		{"objects nested too deep", nest(`{"a":`, `}`, MaxDepth+1), parsed},
		{"arrays nested too deep", nest(`[`, `]`, MaxDepth+1), parsed},
		{"mixed nesting too deep", `{"a":` + strings.Repeat(`[{"b":`, MaxDepth/2) + `1` + strings.Repeat(`}]`, MaxDepth/2) + `}`, parsed},
		{"hostile nesting", `{"a":` + strings.Repeat(`[`, 1_000_000), parsed},
	}
	for _, tt := range tests {
		for _, f := range tt.formats {
			t.Run(tt.name+"/"+string(f), func(t *testing.T) {
				t.Parallel()
				dst := []byte("kept")
				body, ct, err := AppendBody(dst, f, []byte(tt.payload))
				if !errors.Is(err, hookline.ErrInvalid) {
					t.Fatalf("AppendBody = %q, %v; want an ErrInvalid", body, err)
				}
				if want := "encode " + string(f) + " body: "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error %q does not start with %q", err, want)
				}
				if string(body) != "kept" || ct != "" {
					t.Errorf("on error AppendBody = %q, %q; want dst unchanged and no content type", body, ct)
				}
			})
		}
	}
}

var (
	all    = []hookline.Format{hookline.FormatJSON, hookline.FormatForm, hookline.FormatXML}
	parsed = []hookline.Format{hookline.FormatForm, hookline.FormatXML}
)

func TestDepthLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		wantErr bool
	}{
		{"objects at the limit", strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth), false},
		{"objects past the limit", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), true},
		{"arrays at the limit", `{"a":` + strings.Repeat("[", MaxDepth-1) + "1" + strings.Repeat("]", MaxDepth-1) + "}", false},
		{"arrays past the limit", `{"a":` + strings.Repeat("[", MaxDepth) + "1" + strings.Repeat("]", MaxDepth) + "}", true},
		{"empty containers past the limit", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}", true},
	}
	for _, tt := range tests {
		for _, f := range parsed {
			t.Run(tt.name+"/"+string(f), func(t *testing.T) {
				t.Parallel()
				_, _, err := Body(f, []byte(tt.payload))
				if tt.wantErr != (err != nil) {
					t.Fatalf("Body error = %v, want error %v", err, tt.wantErr)
				}
				if tt.wantErr && !strings.Contains(err.Error(), "deeper than 64 levels") {
					t.Errorf("error %q does not say the payload is too deep", err)
				}
			})
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	t.Parallel()
	_, _, err := Body("yaml", []byte(`{}`))
	if !errors.Is(err, hookline.ErrInvalid) || !strings.Contains(err.Error(), `"yaml"`) {
		t.Errorf("Body(yaml) error = %v, want an ErrInvalid naming the format", err)
	}
}

func TestAppendReusesBuffer(t *testing.T) {
	t.Parallel()
	for _, f := range parsed {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			first, _, err := AppendBody(nil, f, []byte(`{"a":"1"}`))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := Body(f, []byte(`{"b":"2"}`))
			if err != nil {
				t.Fatal(err)
			}
			second, _, err := AppendBody(first[:0], f, []byte(`{"b":"2"}`))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(second, want) {
				t.Errorf("reused buffer gives %q, want %q", second, want)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile("testdata/event.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		format hookline.Format
		file   string
	}{
		{hookline.FormatForm, "event.form"},
		{hookline.FormatXML, "event.xml"},
	} {
		t.Run(string(tt.format), func(t *testing.T) {
			t.Parallel()
			body, _, err := Body(tt.format, payload)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(body)); diff != "" {
				t.Errorf("%s differs (-want +got); run go test -update if the change is intended:\n%s", path, diff)
			}
			if tt.format == hookline.FormatXML {
				checkXML(t, body)
			} else if _, err := url.ParseQuery(string(body)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAppendQueryEscape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"unreserved", "AZaz09-_.~"},
		{"space", "a b"},
		{"reserved", "!#$&'()*+,/:;=?@[]%"},
		{"utf-8", "zoë 日本"},
		{"controls", "\x00\x01\n\r\t\x7f"},
		{"invalid utf-8", "\xff\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, want := string(appendQueryEscape(nil, tt.in)), url.QueryEscape(tt.in); got != want {
				t.Errorf("appendQueryEscape(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func FuzzAppendQueryEscape(f *testing.F) {
	f.Add("a b&c=d")
	f.Add("zoë\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Errorf("appendQueryEscape(%q) = %q, want %q", s, got, want)
		}
	})
}

// FuzzBody checks that any payload either fails as ErrInvalid or encodes
// to a body its receiver can parse.
func FuzzBody(f *testing.F) {
	for _, s := range []string{
		`{"Customer":"bob","value":"10.00","item":"paper"}`,
		`{"a":{"b":[1,[2,{"c":null}]]},"1 x":"<&>"}`,
		`{"s":"\u0000\ud800"}`,
		`{"a":1}x`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		form, _, err := Body(hookline.FormatForm, payload)
		if err != nil {
			if !errors.Is(err, hookline.ErrInvalid) {
				t.Fatalf("form error %v is not ErrInvalid", err)
			}
		} else if _, err := url.ParseQuery(string(form)); err != nil {
			t.Fatalf("form body %q does not parse: %v", form, err)
		}
		x, _, err := Body(hookline.FormatXML, payload)
		if err != nil {
			if !errors.Is(err, hookline.ErrInvalid) {
				t.Fatalf("xml error %v is not ErrInvalid", err)
			}
			return
		}
		checkXML(t, x)
	})
}

func BenchmarkBody(b *testing.B) {
	payload, err := os.ReadFile("testdata/event.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range all {
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Body(f, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("append/"+string(f), func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				if dst, _, err = AppendBody(dst[:0], f, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
