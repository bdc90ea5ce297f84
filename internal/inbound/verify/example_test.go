package verify_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookline/hookline/internal/inbound/verify"
)

func ExampleVerify() {
	// A source that receives GitHub's webhooks, in the middle of a secret
	// rotation: either secret verifies.
	cfg := verify.Config{
		Scheme:  verify.SchemeGitHub,
		Secrets: []string{"a new secret", "It's a Secret to Everybody"},
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}

	// GitHub's documented example request.
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	body := []byte("Hello, World!")

	fmt.Println(verify.Verify(&cfg, h, body, time.Now()))
	fmt.Println(verify.DeliveryID(&cfg, h, body))

	// The same signature on another body: the handler answers 401 and
	// logs why.
	err := verify.Verify(&cfg, h, []byte("Hello, World?"), time.Now())
	fmt.Println(err)
	fmt.Println(errors.Is(err, verify.ErrUnverified), errors.Is(err, verify.ErrNoMatch))
	// Output:
	// <nil>
	// 72d3162e-cc78-11e3-81ab-4c9367dc0958
	// verify github: unverified: no match: X-Hub-Signature-256 matches none of the source's 2 secrets
	// true true
}

func ExampleHandshake() {
	// Slack's url_verification, after Verify accepted its signature.
	cfg := verify.Config{Scheme: verify.SchemeSlack, Secrets: []string{"8f742231b10e8888abcd99yyyzzz85a5"}}
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	resp, contentType, ok := verify.Handshake(&cfg, http.Header{}, body)
	fmt.Println(ok, contentType)
	fmt.Println(string(resp))
	// Output:
	// true text/plain; charset=utf-8
	// 3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P
}
