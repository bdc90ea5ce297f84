package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// defaultServer is the server the client commands talk to when neither
// --server nor HOOKLINE_SERVER names one: `hookline serve`'s default.
const defaultServer = "http://127.0.0.1:8071"

// clientFlags are the flags of the commands that call a server's API.
type clientFlags struct {
	server string
	token  string
}

// bind adds --server and --token. The token is best left to the
// environment: a flag's value is visible in process lists.
func (f *clientFlags) bind(cmd *cobra.Command, getenv func(string) string) {
	server := getenv("HOOKLINE_SERVER")
	if server == "" {
		server = defaultServer
	}
	cmd.Flags().StringVar(&f.server, "server", server, "base URL of the hookline server (env HOOKLINE_SERVER)")
	cmd.Flags().StringVar(&f.token, "token", "",
		"API token; prefer the environment (HOOKLINE_TOKEN or HOOKLINE_ADMIN_TOKEN), since a flag's value shows in process lists")
}

// client returns an API client for the flags, with the token from the
// flag or else the environment.
func (f *clientFlags) client(getenv func(string) string) (*apiClient, error) {
	token := f.token
	for _, name := range []string{"HOOKLINE_TOKEN", "HOOKLINE_ADMIN_TOKEN"} {
		if token == "" {
			token = getenv(name)
		}
	}
	if token == "" {
		return nil, usagef("no API token: set HOOKLINE_TOKEN (or HOOKLINE_ADMIN_TOKEN)")
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server %q: want an http:// or https:// URL such as %s", f.server, defaultServer)
	}
	return &apiClient{base: strings.TrimSuffix(f.server, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// deleteCommand is a client command that sends DELETE to the resource its
// one argument names under prefix, and then prints done with the argument.
func deleteCommand(getenv func(string) string, use, short, prefix, done string) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), "DELETE", prefix+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), done, args[0])
			return nil
		},
	}
	cf.bind(cmd, getenv)
	return cmd
}

// apiClient calls a hookline server's REST API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// apiError is an error answer of the API.
type apiError struct {
	Method, Path string
	Status       int
	// Code is the API's error code, such as not_found; "" for a 422,
	// whose detail lists the invalid fields.
	Code   string
	Detail string
}

func (e *apiError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, code, e.Detail)
}

// request builds an authenticated API request.
func (c *apiClient) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do makes an API call and decodes a JSON answer into out, when not nil.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unreachable(c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return readAPIError(method, path, resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// readAPIError makes an apiError of an error body: {"code", "detail"}, or
// a 422's list of invalid fields.
func readAPIError(method, path string, status int, data []byte) error {
	e := &apiError{Method: method, Path: path, Status: status}
	var plain struct {
		Code   string          `json:"code"`
		Detail json.RawMessage `json:"detail"`
	}
	var fields []struct {
		Loc []string `json:"loc"`
		Msg string   `json:"msg"`
	}
	var detail string
	switch {
	case json.Unmarshal(data, &plain) != nil || len(plain.Detail) == 0:
		e.Detail = strings.TrimSpace(string(data))
	case json.Unmarshal(plain.Detail, &detail) == nil:
		e.Code, e.Detail = plain.Code, detail
	case json.Unmarshal(plain.Detail, &fields) == nil:
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = strings.Join(f.Loc, ".") + ": " + f.Msg
		}
		e.Detail = strings.Join(parts, "; ")
	default:
		e.Detail = string(plain.Detail)
	}
	return e
}

// sourceView is the part of a source the CLI shows.
type sourceView struct {
	ID                 string     `json:"id"`
	UID                *string    `json:"uid"`
	Name               string     `json:"name"`
	URL                string     `json:"url"`
	PrevTokenExpiresAt *time.Time `json:"prevTokenExpiresAt"`
	Routes             []struct {
		Type string `json:"type"`
	} `json:"routes"`
	CreatedAt time.Time `json:"createdAt"`
}

func sourceCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "source",
		Short: "Create, list, inspect, rotate and delete inbound sources on a server",
		Long: `Create, list, inspect, rotate and delete inbound sources on a running hookline
server, through its REST API. The token is read from HOOKLINE_TOKEN (or
HOOKLINE_ADMIN_TOKEN); the server from --server or HOOKLINE_SERVER.`,
	}
	cmd.AddCommand(sourceCreateCommand(getenv), sourceListCommand(getenv), sourceGetCommand(getenv),
		sourceRotateCommand(getenv), sourceDeleteCommand(getenv))
	return cmd
}

func sourceCreateCommand(getenv func(string) string) *cobra.Command {
	var (
		cf                      clientFlags
		name, uid, scheme       string
		secrets, forwards       []string
		hold                    bool
		publishApp, publishType string
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME [flags]",
		Short: "Create a source and print its receive URL",
		Long: `Create a source and print its receive URL, which is shown only this once:
hookline keeps only a hash of its token.

The secrets the sender signs with are given with --secret, or one in
HOOKLINE_SOURCE_SECRET, which keeps it out of process lists and shell history.`,
		Example: `  HOOKLINE_SOURCE_SECRET=... hookline source create --name github --verify-scheme github \
      --forward-to https://ci.internal/hooks --hold`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			if s := getenv("HOOKLINE_SOURCE_SECRET"); s != "" && len(secrets) == 0 {
				secrets = []string{s}
			}
			in := map[string]any{"name": name}
			if uid != "" {
				in["uid"] = uid
			}
			if scheme != "" || len(secrets) > 0 {
				in["verification"] = map[string]any{"scheme": scheme, "secrets": secrets}
			}
			routes := []map[string]any{}
			for _, u := range forwards {
				routes = append(routes, map[string]any{"type": "forward", "url": u})
			}
			if publishApp != "" {
				routes = append(routes, map[string]any{"type": "publish", "app": publishApp, "eventType": publishType})
			}
			if hold {
				routes = append(routes, map[string]any{"type": "hold"})
			}
			in["routes"] = routes
			var src sourceView
			if err := c.do(cmd.Context(), "POST", "/api/v1/source", in, &src); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created source %s (%s).\n", src.ID, src.Name)
			fmt.Fprintf(out, "Its receive URL is shown only this once; hookline keeps only a hash of it:\n\n    %s\n\n", src.URL)
			return nil
		},
	}
	cf.bind(cmd, getenv)
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "name of the source (required)")
	f.StringVar(&uid, "uid", "", "your own unique ID for the source, usable in place of its ID")
	f.StringVar(&scheme, "verify-scheme", "", "how requests are verified: none, standard-webhooks, svix, github, stripe, shopify, slack, hmac, basic, api-key")
	f.StringArrayVar(&secrets, "secret", nil, "a secret of the verification scheme; repeat for several (or set HOOKLINE_SOURCE_SECRET)")
	f.StringArrayVar(&forwards, "forward-to", nil, "forward every request to this URL; repeat for several")
	f.BoolVar(&hold, "hold", false, "hold requests for polling (GET /api/v1/source/{id}/events)")
	f.StringVar(&publishApp, "publish-app", "", "publish every request into this outbound app")
	f.StringVar(&publishType, "publish-event-type", "", "event type of published messages (default: the request's own)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func sourceListCommand(getenv func(string) string) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUID\tNAME\tROUTES\tCREATED")
			iterator := ""
			for range 1000 { // at most 250,000 sources
				var page struct {
					Data     []sourceView `json:"data"`
					Iterator *string      `json:"iterator"`
					Done     bool         `json:"done"`
				}
				path := "/api/v1/source?limit=250"
				if iterator != "" {
					path += "&iterator=" + url.QueryEscape(iterator)
				}
				if err := c.do(cmd.Context(), "GET", path, nil, &page); err != nil {
					return err
				}
				for _, s := range page.Data {
					types := make([]string, len(s.Routes))
					for i, r := range s.Routes {
						types[i] = r.Type
					}
					uid := "-"
					if s.UID != nil {
						uid = *s.UID
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, uid, s.Name, strings.Join(types, ","), s.CreatedAt.Local().Format(time.DateTime))
				}
				if page.Done || page.Iterator == nil {
					break
				}
				iterator = *page.Iterator
			}
			return tw.Flush()
		},
	}
	cf.bind(cmd, getenv)
	return cmd
}

func sourceGetCommand(getenv func(string) string) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "get SOURCE",
		Short: "Print a source (by ID or uid) as JSON, its secrets masked",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			var src json.RawMessage
			if err := c.do(cmd.Context(), "GET", "/api/v1/source/"+url.PathEscape(args[0]), nil, &src); err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, src, "", "  "); err != nil {
				return err
			}
			buf.WriteByte('\n')
			_, err = buf.WriteTo(cmd.OutOrStdout())
			return err
		},
	}
	cf.bind(cmd, getenv)
	return cmd
}

func sourceRotateCommand(getenv func(string) string) *cobra.Command {
	var (
		cf    clientFlags
		grace time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rotate SOURCE",
		Short: "Give a source a new receive URL; the old one works for a grace period",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			var src sourceView
			body := map[string]any{"gracePeriodSeconds": int64(grace / time.Second)}
			if err := c.do(cmd.Context(), "POST", "/api/v1/source/"+url.PathEscape(args[0])+"/token/rotate", body, &src); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "New receive URL of %s, shown only this once:\n\n    %s\n\n", src.ID, src.URL)
			if src.PrevTokenExpiresAt != nil {
				fmt.Fprintf(out, "The old URL keeps working until %s.\n", src.PrevTokenExpiresAt.Local().Format(time.DateTime))
			} else {
				fmt.Fprintln(out, "The old URL no longer works.")
			}
			return nil
		},
	}
	cf.bind(cmd, getenv)
	cmd.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the old URL keeps working (at most 168h; 0 ends it now)")
	return cmd
}

func sourceDeleteCommand(getenv func(string) string) *cobra.Command {
	return deleteCommand(getenv, "delete SOURCE", "Delete a source with its received requests; its URL answers 404 from then on",
		"/api/v1/source/", "Deleted source %s.\n")
}
