package main

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookline/hookline/internal/config"
)

// tokenView is an API token as the API shows it.
type tokenView struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Scope        string     `json:"scope"`
	AppID        *string    `json:"appId"`
	Capabilities []string   `json:"capabilities"`
	ReadOnly     bool       `json:"readOnly"`
	CreatedAt    time.Time  `json:"createdAt"`
	ExpiresAt    *time.Time `json:"expiresAt"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
	RevokedAt    *time.Time `json:"revokedAt"`
	Token        string     `json:"token"`
}

func tokenCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens on a server; reset a lost admin token",
		Long: `Create, list and revoke API tokens on a running hookline server, through its
REST API: tokens for the whole API, read-only ones, and ones limited to one
app and some of Svix's capabilities. The token that does this is read from
HOOKLINE_TOKEN (or HOOKLINE_ADMIN_TOKEN) and must reach the whole API; the
server from --server or HOOKLINE_SERVER.

"hookline token reset" works on the server's database instead, to replace
a generated admin token that was lost.`,
	}
	cmd.AddCommand(tokenCreateCommand(getenv), tokenListCommand(getenv), tokenRevokeCommand(getenv),
		tokenResetCommand(getenv))
	return cmd
}

func tokenResetCommand(getenv func(string) string) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "reset [--db DB]",
		Short: "Make a new admin API token on the server's database, when the old one is lost",
		Long: `Make a new admin API token and print it, only once: for when the token that
"hookline serve" generated at first start is lost. It works on the server's
database directly (--db or HOOKLINE_DB, as for serve), not through the API,
and replaces the generated token's hash there. The server reads the hash
when it starts: restart it (every node, on PostgreSQL) for the new token to
work and the old one to stop.

A server started with HOOKLINE_ADMIN_TOKEN set uses that token instead,
and says so when it starts; there, change the setting rather than reset.`,
		Example: `  hookline token reset --db /var/lib/hookline/hookline.db && systemctl restart hookline`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.LoadEnv(cmd.Flags(), getenv); err != nil {
				return &usageError{err}
			}
			st, err := openStore(cmd.Context(), cfg.DB, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			token, sum := newAdminToken()
			if err := st.SettingPut(cmd.Context(), tokenHashSetting, hex.EncodeToString(sum[:])); err != nil {
				st.Close()
				return fmt.Errorf("store the new token's hash in %s: %w", describeDB(cfg.DB), err)
			}
			if err := st.Close(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "New admin API token for %s. It is shown only this once; hookline keeps only its hash:\n\n    %s\n\n", describeDB(cfg.DB), token)
			fmt.Fprintf(out, "Restart the server for it to work; the old generated token stops working then.\n")
			if getenv("HOOKLINE_ADMIN_TOKEN") != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "Note: HOOKLINE_ADMIN_TOKEN is set here; a server started with it set uses it, not this token.\n")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file or postgres:// URL of the server (env HOOKLINE_DB)")
	return cmd
}

func tokenCreateCommand(getenv func(string) string) *cobra.Command {
	var (
		cf          clientFlags
		name, scope string
		app         string
		caps        []string
		readOnly    bool
		expiry      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --scope admin|read-only|app [flags]",
		Short: "Create an API token and print it, only this once",
		Example: `  hookline token create --name dashboards --scope read-only --expiry 720h
  hookline token create --name acme-support --scope app --app acme --capability ViewBase --capability CreateAttempts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			in := map[string]any{"name": name, "scope": scope, "readOnly": readOnly}
			if app != "" {
				in["appId"] = app
			}
			if caps != nil {
				in["capabilities"] = caps
			}
			if expiry > 0 {
				in["expiry"] = int64(expiry / time.Second)
			}
			var tok tokenView
			if err := c.do(cmd.Context(), "POST", "/api/v1/token", in, &tok); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created token %s (%s, %s).\n", tok.ID, tok.Name, describeScope(tok))
			fmt.Fprintf(out, "It is shown only this once; hookline keeps only its hash:\n\n    %s\n\n", tok.Token)
			return nil
		},
	}
	cf.bind(cmd, getenv)
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "what the token is for")
	f.StringVar(&scope, "scope", "", "admin (the whole API), read-only, or app (one app)")
	f.StringVar(&app, "app", "", "the app of an app-scoped token, by ID or uid")
	f.StringArrayVar(&caps, "capability", nil, "a capability of an app-scoped token (ViewBase, ViewEndpointSecret, ManageEndpointSecret, ManageEndpoint, CreateAttempts); repeat for several; default all")
	f.BoolVar(&readOnly, "read-only", false, "an app-scoped token that changes nothing")
	f.DurationVar(&expiry, "expiry", 0, "how long the token works, such as 720h (default: until revoked)")
	_ = cmd.MarkFlagRequired("scope")
	return cmd
}

// describeScope says in words what a token reaches.
func describeScope(t tokenView) string {
	s := t.Scope
	if t.AppID != nil {
		s += " " + *t.AppID
	}
	if t.Scope == "app" {
		s += " [" + strings.Join(t.Capabilities, ",") + "]"
		if t.ReadOnly {
			s += " read-only"
		}
	}
	return s
}

func tokenListCommand(getenv func(string) string) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API tokens, with when each was last used",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client(getenv)
			if err != nil {
				return err
			}
			when := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.Local().Format(time.DateTime)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
			iterator := ""
			for range 1000 {
				var page struct {
					Data     []tokenView `json:"data"`
					Iterator *string     `json:"iterator"`
					Done     bool        `json:"done"`
				}
				path := "/api/v1/token?limit=250"
				if iterator != "" {
					path += "&iterator=" + url.QueryEscape(iterator)
				}
				if err := c.do(cmd.Context(), "GET", path, nil, &page); err != nil {
					return err
				}
				for _, t := range page.Data {
					name := t.Name
					if name == "" {
						name = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, name, describeScope(t), when(&t.CreatedAt),
						when(t.ExpiresAt), when(t.LastUsedAt), when(t.RevokedAt))
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

func tokenRevokeCommand(getenv func(string) string) *cobra.Command {
	return deleteCommand(getenv, "revoke TOKEN_ID", "Revoke an API token at once", "/api/v1/token/", "Revoked token %s.\n")
}
