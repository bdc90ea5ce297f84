package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
	"github.com/svix/svix-webhooks/go/utils"
)

func endpointCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Create, list, inspect, update, delete and recover an app's endpoints",
		Long: `Create, list, inspect, update and delete the endpoints of an app on a running
hookline server, and recover (resend) what failed to reach one. An endpoint
is named by its ID (ep_...) or its uid, within the app given by --app.

` + clientHelp,
	}
	cmd.AddCommand(endpointCreateCommand(getenv), endpointListCommand(getenv), endpointGetCommand(getenv),
		endpointUpdateCommand(getenv), endpointDeleteCommand(getenv), endpointRecoverCommand(getenv))
	return cmd
}

// appFlag binds the required --app flag.
func appFlag(cmd *cobra.Command, app *string) {
	cmd.Flags().StringVar(app, "app", "", "the app, by ID or uid (required)")
	_ = cmd.MarkFlagRequired("app")
}

// endpointState says in a word whether an endpoint receives messages.
func endpointState(e *models.EndpointOut) string {
	if deref(e.Disabled) {
		return "disabled"
	}
	return "enabled"
}

func printEndpoint(cmd *cobra.Command, c *sdkClient, out outputFlag, e *models.EndpointOut) error {
	if out.json() {
		return writeRaw(cmd.OutOrStdout(), c.raw())
	}
	rate := ""
	if e.ThrottleRate != nil {
		rate = strconv.Itoa(int(*e.ThrottleRate)) + "/s"
	}
	return fields(cmd.OutOrStdout(), "ID", e.Id, "UID", deref(e.Uid), "URL", e.Url, "State", endpointState(e),
		"Description", e.Description, "Event types", strings.Join(e.FilterTypes, ","),
		"Channels", strings.Join(e.Channels, ","), "Rate limit", rate, "Metadata", formatMap(e.Metadata),
		"Created", when(e.CreatedAt), "Updated", when(e.UpdatedAt))
}

func endpointCreateCommand(getenv func(string) string) *cobra.Command {
	var (
		out                         outputFlag
		app, endpointURL, uid, desc string
		filterTypes, channels       []string
		metadata                    []string
		disabled                    bool
		rate                        uint16
	)
	cmd := &cobra.Command{
		Use:   "create --app APP --url URL [flags]",
		Short: "Create an endpoint of an app",
		Example: `  hookline endpoint create --app acme --url https://acme.example.com/webhooks \
      --event-type invoice.paid --event-type invoice.failed`,
		Args: cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		in := models.EndpointIn{Url: endpointURL, FilterTypes: filterTypes, Channels: channels}
		if uid != "" {
			in.Uid = &uid
		}
		if desc != "" {
			in.Description = &desc
		}
		if disabled {
			in.Disabled = &disabled
		}
		if rate > 0 {
			in.ThrottleRate = &rate
		}
		md, err := metadataFlag(metadata)
		if err != nil {
			return err
		}
		in.Metadata = md
		e, err := c.Endpoint.Create(cmd.Context(), app, in, nil)
		if err != nil {
			return c.err(err)
		}
		return printEndpoint(cmd, c, out, e)
	})
	appFlag(cmd, &app)
	f := cmd.Flags()
	f.StringVar(&endpointURL, "url", "", "the URL messages are sent to (required)")
	f.StringVar(&uid, "uid", "", "your own unique ID for the endpoint, usable in place of its ID")
	f.StringVar(&desc, "description", "", "what the endpoint is, for people")
	f.StringArrayVar(&filterTypes, "event-type", nil, "send only messages of this event type; repeat for several (default: all)")
	f.StringArrayVar(&channels, "channel", nil, "send only messages of this channel; repeat for several (default: all)")
	f.StringArrayVar(&metadata, "metadata", nil, "a key=value pair to keep with the endpoint; repeat for several")
	f.BoolVar(&disabled, "disabled", false, "create it disabled: it receives nothing until enabled")
	f.Uint16Var(&rate, "rate-limit", 0, "the most messages per second sent to it (default: no limit)")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func endpointListCommand(getenv func(string) string) *cobra.Command {
	var (
		out  outputFlag
		page pageFlags
		app  string
	)
	cmd := &cobra.Command{
		Use:   "list --app APP",
		Short: "List an app's endpoints, newest first",
		Args:  cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		if err := page.check(); err != nil {
			return err
		}
		limit, it := page.options()
		l, err := c.Endpoint.List(cmd.Context(), app, &svix.EndpointListOptions{Limit: limit, Iterator: it})
		if err != nil {
			return c.err(err)
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), c.raw())
		}
		return listTable(cmd, []string{"ID", "UID", "URL", "STATE", "EVENT TYPES", "CREATED"}, l.Data, func(e *models.EndpointOut) []string {
			return []string{e.Id, deref(e.Uid), e.Url, endpointState(e), strings.Join(e.FilterTypes, ","), when(e.CreatedAt)}
		}, l.Done, l.Iterator)
	})
	page.bind(cmd)
	appFlag(cmd, &app)
	return cmd
}

func endpointGetCommand(getenv func(string) string) *cobra.Command {
	var (
		out outputFlag
		app string
	)
	cmd := &cobra.Command{
		Use:   "get ENDPOINT --app APP",
		Short: "Print an endpoint, by ID or uid",
		Args:  cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		e, err := c.Endpoint.Get(cmd.Context(), app, args[0])
		if err != nil {
			return c.err(err)
		}
		return printEndpoint(cmd, c, out, e)
	})
	appFlag(cmd, &app)
	return cmd
}

func endpointUpdateCommand(getenv func(string) string) *cobra.Command {
	var (
		out                         outputFlag
		app, endpointURL, uid, desc string
		filterTypes, channels       []string
		metadata                    []string
		disabled                    bool
		rate                        uint16
	)
	cmd := &cobra.Command{
		Use:     "update ENDPOINT --app APP [flags]",
		Short:   "Change an endpoint; what is not given stays",
		Example: `  hookline endpoint update ep_2a... --app acme --disabled=false`,
		Args:    cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		var p models.EndpointPatch
		f := cmd.Flags()
		changed := false
		set := func(name string) bool {
			if f.Changed(name) {
				changed = true
				return true
			}
			return false
		}
		if set("url") {
			p.Url = &endpointURL
		}
		if set("uid") {
			p.Uid = utils.NewNullable(uid)
		}
		if set("description") {
			p.Description = &desc
		}
		if set("event-type") {
			p.FilterTypes = utils.NewNullable(filterTypes)
		}
		if set("all-event-types") {
			p.FilterTypes = utils.NewNullableFromPtr[[]string](nil)
		}
		if set("channel") {
			p.Channels = utils.NewNullable(channels)
		}
		if set("disabled") {
			p.Disabled = &disabled
		}
		if set("rate-limit") {
			if rate == 0 {
				p.ThrottleRate = utils.NewNullableFromPtr[uint16](nil)
			} else {
				p.ThrottleRate = utils.NewNullable(rate)
			}
		}
		if set("metadata") {
			md, err := metadataFlag(metadata)
			if err != nil {
				return err
			}
			p.Metadata = md
		}
		if !changed {
			return usagef("nothing to update: give at least one of the flags (see --help)")
		}
		e, err := c.Endpoint.Patch(cmd.Context(), app, args[0], p)
		if err != nil {
			return c.err(err)
		}
		return printEndpoint(cmd, c, out, e)
	})
	appFlag(cmd, &app)
	f := cmd.Flags()
	f.StringVar(&endpointURL, "url", "", "the new URL")
	f.StringVar(&uid, "uid", "", "the new uid")
	f.StringVar(&desc, "description", "", "the new description")
	f.StringArrayVar(&filterTypes, "event-type", nil, "send only messages of this event type; repeat for several; replaces the old list")
	f.Bool("all-event-types", false, "send messages of every event type again")
	f.StringArrayVar(&channels, "channel", nil, "send only messages of this channel; repeat for several; replaces the old list")
	f.StringArrayVar(&metadata, "metadata", nil, "a key=value pair; the pairs given replace all of the endpoint's metadata")
	f.BoolVar(&disabled, "disabled", false, "disable (true) or enable (false) the endpoint")
	f.Uint16Var(&rate, "rate-limit", 0, "the most messages per second sent to it; 0 removes the limit")
	cmd.MarkFlagsMutuallyExclusive("event-type", "all-event-types")
	return cmd
}

func endpointDeleteCommand(getenv func(string) string) *cobra.Command {
	var (
		out outputFlag
		app string
	)
	cmd := &cobra.Command{
		Use:   "delete ENDPOINT --app APP",
		Short: "Delete an endpoint; what was due to it is not sent",
		Args:  cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		if err := c.Endpoint.Delete(cmd.Context(), app, args[0]); err != nil {
			return c.err(err)
		}
		out.say(cmd, "Deleted endpoint %s.\n", args[0])
		return nil
	})
	appFlag(cmd, &app)
	return cmd
}

// parseSince reads a point in time given as an RFC 3339 date-time or as a
// duration back from now (2h, 90m).
func parseSince(flag, s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, usagef("%s %q: give a positive duration back from now, such as 2h", flag, s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usagef("%s %q: want a date-time such as 2025-01-02T15:04:05Z or a duration back from now such as 2h", flag, s)
	}
	return t, nil
}

func endpointRecoverCommand(getenv func(string) string) *cobra.Command {
	var (
		out               outputFlag
		app, since, until string
	)
	cmd := &cobra.Command{
		Use:   "recover ENDPOINT --app APP --since TIME",
		Short: "Resend the messages that failed to reach an endpoint since a time",
		Long: `Resend every message whose delivery to the endpoint failed for good since
--since (and before --until, default now), at most 14 days back. The
server queues them at once and sends them as it sends any message; the
attempts show in "hookline attempt list" and "hookline attempt tail".

` + clientHelp,
		Example: `  hookline endpoint recover ep_2a... --app acme --since 6h
  hookline endpoint recover ep_2a... --app acme --since 2025-01-02T00:00:00Z --until 2025-01-03T00:00:00Z`,
		Args: cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		now := time.Now()
		in := models.RecoverIn{}
		var err error
		if in.Since, err = parseSince("--since", since, now); err != nil {
			return err
		}
		if until != "" {
			u, err := parseSince("--until", until, now)
			if err != nil {
				return err
			}
			in.Until = &u
		}
		r, err := c.Endpoint.Recover(cmd.Context(), app, args[0], in, nil)
		if err != nil {
			return c.err(err)
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), c.raw())
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Queued the messages that failed to reach %s since %s to be sent again (task %s).\n",
			args[0], in.Since.Local().Format(time.DateTime), r.Id)
		return nil
	})
	appFlag(cmd, &app)
	cmd.Flags().StringVar(&since, "since", "", "resend failures from this time: a date-time (RFC 3339) or a duration back from now, such as 6h (required)")
	cmd.Flags().StringVar(&until, "until", "", "and before this time, as --since (default: now)")
	_ = cmd.MarkFlagRequired("since")
	return cmd
}
