package verify_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/inbound/verify"
)

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  verify.Config
	}{
		{"none", verify.Config{Scheme: verify.SchemeNone}},
		{"standard-webhooks", verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{whsec}}},
		{"standard-webhooks rotating, one without prefix", verify.Config{Scheme: verify.SchemeStandardWebhooks,
			Secrets: []string{whsec, strings.TrimPrefix(whsec2, "whsec_")}, Tolerance: 600}},
		{"svix", verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{whsec}}},
		{"github", verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{"It's a Secret to Everybody"}}},
		{"stripe", verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"whsec_abc"}, Tolerance: 300}},
		{"shopify", verify.Config{Scheme: verify.SchemeShopify, Secrets: []string{"shpss_abc"}}},
		{"slack", verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{"8f742231b10e8888abcd99yyyzzz85a5"}, Tolerance: 86400}},
		{"hmac with defaults", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Signature", Secrets: []string{"k"}}},
		{"hmac spelled out", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Hub-Signature", Algorithm: "sha1",
			Encoding: "hex", Prefix: "sha1=", Secrets: []string{"k"}}},
		{"hmac sha512 base64", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Secrets: []string{"k"}}},
		{"basic", verify.Config{Scheme: verify.SchemeBasic, Secrets: []string{"user:pass word ", "user2:p:w"}}},
		{"api-key", verify.Config{Scheme: verify.SchemeAPIKey, Secrets: []string{"k1", "k2"}}},
		{"api-key in a named header", verify.Config{Scheme: verify.SchemeAPIKey, Header: "Authorization", Secrets: []string{"Bearer k1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.cfg.Validate(); err != nil {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	many := make([]string, verify.MaxSecrets+1)
	for i := range many {
		many[i] = "k"
	}
	tests := []struct {
		name string
		cfg  verify.Config
		loc  []string // of the first field error
		msg  string   // part of its message
	}{
		{"no scheme", verify.Config{}, []string{"scheme"}, `is required: one of none, standard-webhooks`},
		{"unknown scheme", verify.Config{Scheme: "gitlab", Secrets: []string{"k"}}, []string{"scheme"}, `unknown scheme "gitlab"`},
		{"none with secrets", verify.Config{Scheme: verify.SchemeNone, Secrets: []string{"k"}}, []string{"secrets"}, "takes no secrets"},
		{"missing secrets", verify.Config{Scheme: verify.SchemeGitHub}, []string{"secrets"}, "needs at least one webhook secret"},
		{"too many secrets", verify.Config{Scheme: verify.SchemeGitHub, Secrets: many}, []string{"secrets"}, "at most 10"},
		{"empty secret", verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{"k", ""}}, []string{"secrets", "1"}, "is empty"},
		{"long secret", verify.Config{Scheme: verify.SchemeGitHub, Secrets: []string{strings.Repeat("k", 1025)}}, []string{"secrets", "0"}, "1025 bytes"},
		{"secret with a trailing newline", verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{"abc\n"}}, []string{"secrets", "0"}, "whitespace"},
		{"standard-webhooks plain secret", verify.Config{Scheme: verify.SchemeStandardWebhooks, Secrets: []string{"not-base64!"}},
			[]string{"secrets", "0"}, "is not a signing secret: invalid webhook secret"},
		{"svix asymmetric key", verify.Config{Scheme: verify.SchemeSvix, Secrets: []string{"whpk_abc"}}, []string{"secrets", "0"}, "asymmetric"},
		{"stripe API key", verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"sk_live_abc"}}, []string{"secrets", "0"}, "is a Stripe API key"},
		{"basic without colon", verify.Config{Scheme: verify.SchemeBasic, Secrets: []string{"alice"}}, []string{"secrets", "0"}, `"user:password"`},
		{"basic empty password", verify.Config{Scheme: verify.SchemeBasic, Secrets: []string{"alice:"}}, []string{"secrets", "0"}, "neither part empty"},
		{"basic empty user", verify.Config{Scheme: verify.SchemeBasic, Secrets: []string{":pw"}}, []string{"secrets", "0"}, "neither part empty"},
		{"api key with control character", verify.Config{Scheme: verify.SchemeAPIKey, Secrets: []string{"a\x00b"}}, []string{"secrets", "0"}, "control"},
		{"hmac without header", verify.Config{Scheme: verify.SchemeHMAC, Secrets: []string{"k"}}, []string{"header"}, "needs the name of the header"},
		{"hmac bad header name", verify.Config{Scheme: verify.SchemeHMAC, Header: "X Sig", Secrets: []string{"k"}}, []string{"header"}, "HTTP header name"},
		{"header on github", verify.Config{Scheme: verify.SchemeGitHub, Header: "X-Sig", Secrets: []string{"k"}}, []string{"header"}, "takes no header"},
		{"unknown algorithm", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "md5", Secrets: []string{"k"}},
			[]string{"algorithm"}, `unknown algorithm "md5": want sha1, sha256 or sha512`},
		{"algorithm in upper case", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Algorithm: "SHA256", Secrets: []string{"k"}},
			[]string{"algorithm"}, "unknown algorithm"},
		{"unknown encoding", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Encoding: "base32", Secrets: []string{"k"}},
			[]string{"encoding"}, "want hex or base64"},
		{"prefix with a space", verify.Config{Scheme: verify.SchemeHMAC, Header: "X-Sig", Prefix: "sha256 =", Secrets: []string{"k"}},
			[]string{"prefix"}, "printable ASCII"},
		{"algorithm on stripe", verify.Config{Scheme: verify.SchemeStripe, Algorithm: "sha1", Secrets: []string{"whsec_k"}},
			[]string{"algorithm"}, "takes no algorithm; only hmac does"},
		{"prefix on shopify", verify.Config{Scheme: verify.SchemeShopify, Prefix: "x", Secrets: []string{"k"}}, []string{"prefix"}, "only hmac"},
		{"tolerance on github", verify.Config{Scheme: verify.SchemeGitHub, Tolerance: 60, Secrets: []string{"k"}}, []string{"tolerance"},
			"signs no timestamp"},
		{"negative tolerance", verify.Config{Scheme: verify.SchemeStripe, Tolerance: -1, Secrets: []string{"whsec_k"}}, []string{"tolerance"},
			"must be 1 to 86400 seconds, or 0 for the default of 300"},
		{"tolerance over a day", verify.Config{Scheme: verify.SchemeSlack, Tolerance: 86401, Secrets: []string{"k"}}, []string{"tolerance"},
			"1 to 86400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if !errors.Is(err, hookline.ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			var ve *hookline.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %T, want *hookline.ValidationError", err)
			}
			f := ve.Fields[0]
			if diff := cmp.Diff(tt.loc, f.Loc); diff != "" {
				t.Errorf("location (-want +got):\n%s", diff)
			}
			if !strings.Contains(f.Msg, tt.msg) {
				t.Errorf("message %q, want it to say %q", f.Msg, tt.msg)
			}
			for _, s := range tt.cfg.Secrets {
				if len(s) > 2 && strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes a secret", err)
				}
			}
		})
	}
}

// TestValidateReportsEveryField checks that one call lists all the fields
// to fix, so an API client needs one round trip.
func TestValidateReportsEveryField(t *testing.T) {
	t.Parallel()
	cfg := verify.Config{Scheme: verify.SchemeHMAC, Algorithm: "md5", Encoding: "rot13", Tolerance: 5}
	var ve *hookline.ValidationError
	if !errors.As(cfg.Validate(), &ve) {
		t.Fatal("Validate accepted a broken config")
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, strings.Join(f.Loc, "."))
	}
	want := []string{"secrets", "header", "algorithm", "encoding", "tolerance"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestConfigJSON(t *testing.T) {
	t.Parallel()
	// As the REST API takes it, and docs/verification.md shows it.
	const doc = `{"scheme":"hmac","secrets":["k1","k2"],"header":"X-Signature","algorithm":"sha512","encoding":"base64","prefix":"sha512=","tolerance":0}`
	var got verify.Config
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := verify.Config{Scheme: verify.SchemeHMAC, Secrets: []string{"k1", "k2"}, Header: "X-Signature", Algorithm: "sha512",
		Encoding: "base64", Prefix: "sha512="}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}

	out, err := json.Marshal(verify.Config{Scheme: verify.SchemeStripe, Secrets: []string{"whsec_k"}, Tolerance: 600})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"scheme":"stripe","secrets":["whsec_k"],"tolerance":600}`; got != want {
		t.Errorf("encoded %s, want %s", got, want)
	}
}

// TestDocumentedConfigsValidate keeps the examples of
// docs/verification.md valid: every JSON block there is a Config.
func TestDocumentedConfigsValidate(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../../docs/verification.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, part := range strings.Split(string(doc), "```json\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatalf("unterminated json block: %.40q", part)
		}
		blocks++
		dec := json.NewDecoder(strings.NewReader(block))
		dec.DisallowUnknownFields()
		var cfg verify.Config
		if err := dec.Decode(&cfg); err != nil {
			t.Errorf("%s: %v", block, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", block, err)
		}
	}
	if blocks < 10 {
		t.Errorf("found %d JSON examples, want one per scheme at least", blocks)
	}
}
