package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// maxPayload bounds the payload msg publish reads, above any server's
// --max-body-bytes.
const maxPayload = 64 << 20

// messageView is the part of a message the tables show.
type messageView struct {
	ID        string          `json:"id"`
	EventID   *string         `json:"eventId"`
	EventType string          `json:"eventType"`
	Channels  []string        `json:"channels"`
	Timestamp time.Time       `json:"timestamp"`
	Payload   json.RawMessage `json:"payload"`
}

func msgCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "msg",
		Short: "Publish, list, inspect and resend an app's messages",
		Long: `Publish messages to an app on a running hookline server, which sends them to
each of the app's endpoints that accepts their event type; list and inspect
them; and send one again to an endpoint. A message is named by its ID
(msg_...) or its event ID, within the app given by --app.

` + clientHelp,
	}
	cmd.AddCommand(msgPublishCommand(getenv), msgListCommand(getenv), msgGetCommand(getenv), msgResendCommand(getenv))
	return cmd
}

// readPayload reads the payload from --data or --file (- for stdin).
func readPayload(cmd *cobra.Command, data, file string) ([]byte, error) {
	var p []byte
	switch {
	case data != "" && file != "":
		return nil, usagef("give the payload with --data or --file, not both")
	case data != "":
		p = []byte(data)
	case file != "":
		var r io.Reader
		if file == "-" {
			r = cmd.InOrStdin()
		} else {
			f, err := os.Open(file)
			if err != nil {
				return nil, usagef("--file: %w", err)
			}
			defer f.Close()
			r = f
		}
		var err error
		p, err = io.ReadAll(io.LimitReader(r, maxPayload+1))
		if err != nil {
			return nil, fmt.Errorf("read the payload: %w", err)
		}
		if len(p) > maxPayload {
			return nil, usagef("the payload is larger than %d MiB", maxPayload>>20)
		}
	default:
		return nil, usagef("no payload: give it with --data '{...}', --file FILE, or --file - to read standard input")
	}
	p = bytes.TrimSpace(p)
	if !json.Valid(p) {
		return nil, usagef("the payload is not valid JSON; it must be a JSON object, such as {\"id\": 1}")
	}
	return p, nil
}

func msgPublishCommand(getenv func(string) string) *cobra.Command {
	var (
		cf                      clientFlags
		out                     outputFlag
		app, eventType, eventID string
		data, file              string
		channels                []string
	)
	cmd := &cobra.Command{
		Use:   "publish --app APP --event-type TYPE (--data JSON | --file FILE | --file -)",
		Short: "Publish a message to an app's endpoints",
		Long: `Publish a message to an app: the server sends it, signed, to every endpoint of
the app that accepts its event type and channels, and retries failures. The
payload, a JSON object, is sent byte for byte as given: from --data, from a
file, or from standard input with --file -.

` + clientHelp,
		Example: `  hookline msg publish --app acme --event-type invoice.paid --data '{"invoice": "in_1", "amount": 4200}'
  hookline msg publish --app acme --event-type invoice.paid --file invoice.json --event-id in_1-paid
  jq -n '{invoice: "in_1"}' | hookline msg publish --app acme --event-type invoice.paid --file -`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		payload, err := readPayload(cmd, data, file)
		if err != nil {
			return err
		}
		c, err := cf.client(getenv)
		if err != nil {
			return err
		}
		body, err := messageBody(eventType, eventID, channels, payload)
		if err != nil {
			return err
		}
		answer, err := c.send(cmd.Context(), "POST", "/api/v1/app/"+url.PathEscape(app)+"/msg?with_content=false", body)
		if err != nil {
			return err
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), answer)
		}
		var m messageView
		if err := json.Unmarshal(answer, &m); err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Published %s (%s) to %s.\n", m.ID, m.EventType, app)
		return nil
	}
	cf.bind(cmd, getenv)
	out.bind(cmd)
	appFlag(cmd, &app)
	f := cmd.Flags()
	f.StringVar(&eventType, "event-type", "", "the message's event type, such as invoice.paid (required)")
	f.StringVar(&data, "data", "", "the payload, a JSON object")
	f.StringVar(&file, "file", "", "read the payload from this file; - reads standard input")
	f.StringVar(&eventID, "event-id", "", "your unique ID for the message: publishing it again in the app is refused (409), so retries are safe")
	f.StringArrayVar(&channels, "channel", nil, "a channel of the message, which endpoints may filter on; repeat for several")
	_ = cmd.MarkFlagRequired("event-type")
	return cmd
}

// messageBody builds the JSON of a MessageIn with the payload's bytes
// as they are.
func messageBody(eventType, eventID string, channels []string, payload []byte) ([]byte, error) {
	head := map[string]any{"eventType": eventType}
	if eventID != "" {
		head["eventId"] = eventID
	}
	if len(channels) > 0 {
		head["channels"] = channels
	}
	b, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], `,"payload":`...)
	b = append(b, payload...)
	return append(b, '}'), nil
}

func msgListCommand(getenv func(string) string) *cobra.Command {
	var (
		cf         clientFlags
		out        outputFlag
		page       pageFlags
		app        string
		eventTypes []string
		channel    string
	)
	cmd := &cobra.Command{
		Use:   "list --app APP",
		Short: "List an app's messages, newest first",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		if err := page.check(); err != nil {
			return err
		}
		c, err := cf.client(getenv)
		if err != nil {
			return err
		}
		q := url.Values{"limit": {strconv.FormatUint(page.limit, 10)}}
		if page.iterator != "" {
			q.Set("iterator", page.iterator)
		}
		for _, t := range eventTypes {
			q.Add("event_types", t)
		}
		if channel != "" {
			q.Set("channel", channel)
		}
		if !out.json() {
			q.Set("with_content", "false") // the table shows no payloads
		}
		answer, err := c.send(cmd.Context(), "GET", "/api/v1/app/"+url.PathEscape(app)+"/msg?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), answer)
		}
		var l struct {
			Data     []messageView `json:"data"`
			Done     bool          `json:"done"`
			Iterator *string       `json:"iterator"`
		}
		if err := json.Unmarshal(answer, &l); err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		return listTable(cmd, []string{"ID", "EVENT TYPE", "EVENT ID", "CHANNELS", "CREATED"}, l.Data, func(m *messageView) []string {
			return []string{m.ID, m.EventType, deref(m.EventID), strings.Join(m.Channels, ","), when(m.Timestamp)}
		}, l.Done, l.Iterator)
	}
	cf.bind(cmd, getenv)
	out.bind(cmd)
	page.bind(cmd)
	appFlag(cmd, &app)
	cmd.Flags().StringArrayVar(&eventTypes, "event-type", nil, "list only messages of this event type; repeat for several")
	cmd.Flags().StringVar(&channel, "channel", "", "list only messages of this channel")
	return cmd
}

func msgGetCommand(getenv func(string) string) *cobra.Command {
	var (
		cf  clientFlags
		out outputFlag
		app string
	)
	cmd := &cobra.Command{
		Use:   "get MSG --app APP",
		Short: "Print a message with its payload, by ID or event ID",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := out.check(); err != nil {
			return err
		}
		c, err := cf.client(getenv)
		if err != nil {
			return err
		}
		answer, err := c.send(cmd.Context(), "GET", "/api/v1/app/"+url.PathEscape(app)+"/msg/"+url.PathEscape(args[0]), nil)
		if err != nil {
			return err
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), answer)
		}
		var m messageView
		if err := json.Unmarshal(answer, &m); err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		w := cmd.OutOrStdout()
		if err := fields(w, "ID", m.ID, "Event type", m.EventType, "Event ID", deref(m.EventID),
			"Channels", strings.Join(m.Channels, ","), "Created", when(m.Timestamp)); err != nil {
			return err
		}
		var payload bytes.Buffer
		if json.Indent(&payload, m.Payload, "", "  ") != nil {
			payload.Reset()
			payload.Write(m.Payload)
		}
		_, err = fmt.Fprintf(w, "Payload:\n%s\n", payload.Bytes())
		return err
	}
	cf.bind(cmd, getenv)
	out.bind(cmd)
	appFlag(cmd, &app)
	return cmd
}

func msgResendCommand(getenv func(string) string) *cobra.Command {
	var (
		out           outputFlag
		app, endpoint string
	)
	cmd := &cobra.Command{
		Use:   "resend MSG --app APP --endpoint ENDPOINT",
		Short: "Send a message to an endpoint again, now",
		Long: `Send a message to one of the app's endpoints again, now, whatever became of
its earlier attempts; the new attempt shows in "hookline attempt list".

` + clientHelp,
		Args: cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		if _, err := c.MessageAttempt.Resend(cmd.Context(), app, args[0], endpoint, nil); err != nil {
			return c.err(err)
		}
		out.say(cmd, "Resending %s to %s.\n", args[0], endpoint)
		return nil
	})
	appFlag(cmd, &app)
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "the endpoint to send it to, by ID or uid (required)")
	_ = cmd.MarkFlagRequired("endpoint")
	return cmd
}
