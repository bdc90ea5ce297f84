package main

import (
	"github.com/spf13/cobra"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
	"github.com/svix/svix-webhooks/go/utils"
)

func appCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Create, list, inspect, update and delete apps on a server",
		Long: `Create, list, inspect, update and delete apps on a running hookline server:
the tenants that messages are published to and endpoints belong to. An app
is named by its ID (app_...) or its uid.

` + clientHelp,
	}
	cmd.AddCommand(appCreateCommand(getenv), appListCommand(getenv), appGetCommand(getenv),
		appUpdateCommand(getenv), appDeleteCommand(getenv))
	return cmd
}

func printApp(cmd *cobra.Command, c *sdkClient, out outputFlag, a *models.ApplicationOut) error {
	if out.json() {
		return writeRaw(cmd.OutOrStdout(), c.raw())
	}
	return fields(cmd.OutOrStdout(), "ID", a.Id, "UID", deref(a.Uid), "Name", a.Name,
		"Metadata", formatMap(a.Metadata), "Created", when(a.CreatedAt), "Updated", when(a.UpdatedAt))
}

func appCreateCommand(getenv func(string) string) *cobra.Command {
	var (
		out       outputFlag
		name, uid string
		metadata  []string
	)
	cmd := &cobra.Command{
		Use:     "create --name NAME [--uid UID]",
		Short:   "Create an app",
		Example: `  hookline app create --name "Acme Inc" --uid acme --metadata plan=pro`,
		Args:    cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		in := models.ApplicationIn{Name: name}
		if uid != "" {
			in.Uid = &uid
		}
		md, err := metadataFlag(metadata)
		if err != nil {
			return err
		}
		in.Metadata = md
		a, err := c.Application.Create(cmd.Context(), in, nil)
		if err != nil {
			return c.err(err)
		}
		return printApp(cmd, c, out, a)
	})
	cmd.Flags().StringVar(&name, "name", "", "name of the app, for people (required)")
	cmd.Flags().StringVar(&uid, "uid", "", "your own unique ID for the app, usable in place of its ID")
	cmd.Flags().StringArrayVar(&metadata, "metadata", nil, "a key=value pair to keep with the app; repeat for several")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func appListCommand(getenv func(string) string) *cobra.Command {
	var (
		out  outputFlag
		page pageFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List apps",
		Args:  cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		if err := page.check(); err != nil {
			return err
		}
		limit, it := page.options()
		l, err := c.Application.List(cmd.Context(), &svix.ApplicationListOptions{Limit: limit, Iterator: it})
		if err != nil {
			return c.err(err)
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), c.raw())
		}
		return listTable(cmd, []string{"ID", "UID", "NAME", "CREATED"}, l.Data, func(a *models.ApplicationOut) []string {
			return []string{a.Id, deref(a.Uid), a.Name, when(a.CreatedAt)}
		}, l.Done, l.Iterator)
	})
	page.bind(cmd)
	return cmd
}

func appGetCommand(getenv func(string) string) *cobra.Command {
	var (
		out outputFlag
	)
	cmd := &cobra.Command{
		Use:   "get APP",
		Short: "Print an app, by ID or uid",
		Args:  cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		a, err := c.Application.Get(cmd.Context(), args[0])
		if err != nil {
			return c.err(err)
		}
		return printApp(cmd, c, out, a)
	})
	return cmd
}

func appUpdateCommand(getenv func(string) string) *cobra.Command {
	var (
		out       outputFlag
		name, uid string
		metadata  []string
	)
	cmd := &cobra.Command{
		Use:     "update APP [--name NAME] [--uid UID] [--metadata KEY=VALUE]...",
		Short:   "Change an app's name, uid or metadata; what is not given stays",
		Example: `  hookline app update acme --name "Acme Corporation"`,
		Args:    cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		var p models.ApplicationPatch
		f := cmd.Flags()
		if f.Changed("name") {
			p.Name = &name
		}
		if f.Changed("uid") {
			p.Uid = utils.NewNullable(uid)
		}
		md, err := metadataFlag(metadata)
		if err != nil {
			return err
		}
		p.Metadata = md
		if !f.Changed("name") && !f.Changed("uid") && md == nil {
			return usagef("nothing to update: give --name, --uid or --metadata")
		}
		a, err := c.Application.Patch(cmd.Context(), args[0], p)
		if err != nil {
			return c.err(err)
		}
		return printApp(cmd, c, out, a)
	})
	cmd.Flags().StringVar(&name, "name", "", "the app's new name")
	cmd.Flags().StringVar(&uid, "uid", "", "the app's new uid")
	cmd.Flags().StringArrayVar(&metadata, "metadata", nil, "a key=value pair; the pairs given replace all of the app's metadata; repeat for several")
	return cmd
}

func appDeleteCommand(getenv func(string) string) *cobra.Command {
	var (
		out outputFlag
	)
	cmd := &cobra.Command{
		Use:   "delete APP",
		Short: "Delete an app with its endpoints, messages and attempts",
		Args:  cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		if err := c.Application.Delete(cmd.Context(), args[0]); err != nil {
			return c.err(err)
		}
		out.say(cmd, "Deleted app %s.\n", args[0])
		return nil
	})
	return cmd
}
