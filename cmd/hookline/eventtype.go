package main

import (
	"encoding/json"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
	"github.com/svix/svix-webhooks/go/utils"
)

func eventTypeCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "event-type",
		Short: "Create, list, inspect, update and delete event types on a server",
		Long: `Create, list, inspect, update and delete the event types of a running hookline
server: the catalog of what messages may be, shared by every app, which
endpoints filter on and the portal shows. An event type is named by its
name, such as invoice.paid.

` + clientHelp,
	}
	cmd.AddCommand(eventTypeCreateCommand(getenv), eventTypeListCommand(getenv), eventTypeGetCommand(getenv),
		eventTypeUpdateCommand(getenv), eventTypeDeleteCommand(getenv))
	return cmd
}

func printEventType(cmd *cobra.Command, c *sdkClient, out outputFlag, et *models.EventTypeOut) error {
	if out.json() {
		return writeRaw(cmd.OutOrStdout(), c.raw())
	}
	schema := ""
	if et.Schemas != nil {
		b, _ := json.Marshal(*et.Schemas)
		schema = string(b)
	}
	return fields(cmd.OutOrStdout(), "Name", et.Name, "Description", et.Description,
		"Archived", strconv.FormatBool(deref(et.Archived)), "Schemas", schema,
		"Created", when(et.CreatedAt), "Updated", when(et.UpdatedAt))
}

// readSchemas reads --schema: a file holding the JSON schemas by version,
// such as {"1": {...}}.
func readSchemas(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--schema: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, usagef("--schema %s: want a JSON object of schemas by version, such as {\"1\": {...}}: %w", path, err)
	}
	return m, nil
}

func eventTypeCreateCommand(getenv func(string) string) *cobra.Command {
	var (
		out                     outputFlag
		description, schemaFile string
		archived                bool
	)
	cmd := &cobra.Command{
		Use:     "create NAME --description TEXT [--schema FILE]",
		Short:   "Create an event type",
		Example: `  hookline event-type create invoice.paid --description "An invoice was paid" --schema invoice.paid.schema.json`,
		Args:    cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		in := models.EventTypeIn{Name: args[0], Description: description}
		if archived {
			in.Archived = &archived
		}
		if schemaFile != "" {
			m, err := readSchemas(schemaFile)
			if err != nil {
				return err
			}
			in.Schemas = &m
		}
		et, err := c.EventType.Create(cmd.Context(), in, nil)
		if err != nil {
			return c.err(err)
		}
		return printEventType(cmd, c, out, et)
	})
	cmd.Flags().StringVar(&description, "description", "", "what the event means, for the people who receive it")
	cmd.Flags().StringVar(&schemaFile, "schema", "", `a file of JSON schemas of the payload, by version: {"1": {...}}`)
	cmd.Flags().BoolVar(&archived, "archived", false, "create it archived: kept, but no longer offered")
	return cmd
}

func eventTypeListCommand(getenv func(string) string) *cobra.Command {
	var (
		out             outputFlag
		page            pageFlags
		includeArchived bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List event types",
		Args:  cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		if err := page.check(); err != nil {
			return err
		}
		limit, it := page.options()
		l, err := c.EventType.List(cmd.Context(), &svix.EventTypeListOptions{Limit: limit, Iterator: it,
			IncludeArchived: &includeArchived})
		if err != nil {
			return c.err(err)
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), c.raw())
		}
		return listTable(cmd, []string{"NAME", "DESCRIPTION", "ARCHIVED", "CREATED"}, l.Data, func(et *models.EventTypeOut) []string {
			return []string{et.Name, et.Description, strconv.FormatBool(deref(et.Archived)), when(et.CreatedAt)}
		}, l.Done, l.Iterator)
	})
	page.bind(cmd)
	cmd.Flags().BoolVar(&includeArchived, "include-archived", false, "list archived event types too")
	return cmd
}

func eventTypeGetCommand(getenv func(string) string) *cobra.Command {
	var (
		out outputFlag
	)
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print an event type, with its schemas",
		Args:  cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		et, err := c.EventType.Get(cmd.Context(), args[0])
		if err != nil {
			return c.err(err)
		}
		return printEventType(cmd, c, out, et)
	})
	return cmd
}

func eventTypeUpdateCommand(getenv func(string) string) *cobra.Command {
	var (
		out                     outputFlag
		description, schemaFile string
		archived                bool
	)
	cmd := &cobra.Command{
		Use:     "update NAME [--description TEXT] [--schema FILE] [--archived=true|false]",
		Short:   "Change an event type's description, schemas or archived state; what is not given stays",
		Example: `  hookline event-type update invoice.paid --archived`,
		Args:    cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		var p models.EventTypePatch
		f := cmd.Flags()
		if f.Changed("description") {
			p.Description = &description
		}
		if f.Changed("archived") {
			p.Archived = &archived
		}
		if schemaFile != "" {
			m, err := readSchemas(schemaFile)
			if err != nil {
				return err
			}
			p.Schemas = utils.NewNullable(m)
		}
		if !f.Changed("description") && !f.Changed("archived") && schemaFile == "" {
			return usagef("nothing to update: give --description, --schema or --archived")
		}
		et, err := c.EventType.Patch(cmd.Context(), args[0], p)
		if err != nil {
			return c.err(err)
		}
		return printEventType(cmd, c, out, et)
	})
	cmd.Flags().StringVar(&description, "description", "", "the new description")
	cmd.Flags().StringVar(&schemaFile, "schema", "", `a file of JSON schemas by version, replacing the old ones: {"1": {...}}`)
	cmd.Flags().BoolVar(&archived, "archived", false, "archive (true) or restore (false) the event type")
	return cmd
}

func eventTypeDeleteCommand(getenv func(string) string) *cobra.Command {
	var (
		out     outputFlag
		expunge bool
	)
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Archive an event type, or with --expunge delete it for good",
		Args:  cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		if err := c.EventType.Delete(cmd.Context(), args[0], &svix.EventTypeDeleteOptions{Expunge: &expunge}); err != nil {
			return c.err(err)
		}
		verb := "Archived"
		if expunge {
			verb = "Deleted"
		}
		out.say(cmd, "%s event type %s.\n", verb, args[0])
		return nil
	})
	cmd.Flags().BoolVar(&expunge, "expunge", false, "delete it for good instead of archiving it")
	return cmd
}
