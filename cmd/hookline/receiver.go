package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookline/hookline/webhook"
)

// receiverMaxBody is how much of a request's body the receiver reads.
const receiverMaxBody = 1 << 20

func receiverCommand() *cobra.Command {
	var (
		addr   string
		status int
		secret string
	)
	cmd := &cobra.Command{
		Use:   "receiver",
		Short: "Run a webhook receiver that prints what it receives, to try hookline out",
		Long: `Run an HTTP server that prints every request it receives (the method,
path, headers and body) and answers it with --status, to see what hookline
delivers, on your own machine. With --secret, the endpoint's signing secret
(whsec_...), it also checks each request's Standard Webhooks signature.

It is a tool for trying hookline and for debugging, not a server to
deploy: it listens on loopback by default and keeps nothing.`,
		Example: `  hookline receiver --addr 127.0.0.1:9000
  hookline receiver --secret whsec_... --status 500   # see hookline retry`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if status < 100 || status > 599 {
				return &usageError{fmt.Errorf("--status %d: want an HTTP status from 100 to 599", status)}
			}
			var keys [][]byte
			if secret != "" {
				key, err := webhook.ParseSecret(secret)
				if err != nil {
					return &usageError{fmt.Errorf("--secret: %w (copy it from the endpoint's secret, whsec_...)", err)}
				}
				keys = [][]byte{key}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (choose another with --addr)", addr, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "receiving on http://%s, answering %d\n", ln.Addr(), status)
			srv := &http.Server{Handler: printRequests(out, status, keys), ReadHeaderTimeout: 10 * time.Second}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case <-cmd.Context().Done():
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				return srv.Shutdown(ctx)
			case err := <-done:
				if errors.Is(err, http.ErrServerClosed) {
					return nil
				}
				return err
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:9000", "address to listen on, host:port")
	cmd.Flags().IntVar(&status, "status", http.StatusOK, "HTTP status to answer every request with")
	cmd.Flags().StringVar(&secret, "secret", "", "the endpoint's signing secret (whsec_...), to check each request's signature")
	return cmd
}

// printRequests prints each request to out, one after another, and
// answers status.
func printRequests(out io.Writer, status int, keys [][]byte) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, receiverMaxBody+1))
		truncated := len(body) > receiverMaxBody
		body = body[:min(len(body), receiverMaxBody)]
		var b strings.Builder
		fmt.Fprintf(&b, "\n%s %s %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.RequestURI())
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			for _, v := range r.Header[k] {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		b.WriteString("\n")
		b.Write(body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			b.WriteString("\n")
		}
		switch {
		case err != nil:
			fmt.Fprintf(&b, "(reading the body failed: %v)\n", err)
		case truncated:
			fmt.Fprintf(&b, "(body cut at %d bytes)\n", receiverMaxBody)
		}
		if keys != nil {
			if verr := webhook.Verify(keys, r.Header, body, time.Now(), 0); verr != nil {
				fmt.Fprintf(&b, "signature: INVALID (%v)\n", verr)
			} else {
				b.WriteString("signature: valid\n")
			}
		}
		fmt.Fprintf(&b, "answered %d\n", status)
		mu.Lock()
		io.WriteString(out, b.String())
		mu.Unlock()
		w.WriteHeader(status)
	})
}
