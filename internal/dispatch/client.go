package dispatch

import (
	"net"
	"net/http"
	"time"
)

// NewClient returns the HTTP client deliveries go out with. It dials with
// dialer, which the server builds to refuse private addresses; nil means a
// plain dialer, for tests. Every request is bounded by timeout.
//
// The client keeps many idle connections per host, as a busy endpoint
// takes many deliveries at once and a new TLS connection per delivery
// would cost more than the delivery. It follows no redirect: the 3xx
// response is the answer, recorded as a failure, because a redirect could
// lead the request where the endpoint's owner did not point it. It uses no
// proxy from the environment, since a proxy would dial for it and so
// bypass the dialer's guard.
func NewClient(dialer *net.Dialer, timeout time.Duration) *http.Client {
	if dialer == nil {
		dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(10*time.Second, timeout),
		ExpectContinueTimeout: time.Second,
		// Response headers are kept with each attempt; 64 KiB is far more
		// than any receiver needs to say.
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
