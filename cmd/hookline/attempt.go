package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
)

// Bounds of the attempt commands.
const (
	// maxTailEndpoints bounds the endpoints of an app that attempt list
	// and attempt tail look at.
	maxTailEndpoints = 1000
	// maxTailPages bounds the pages of 250 one poll of attempt tail reads
	// per endpoint.
	maxTailPages = 20
	// tailOverlap is how far back before the newest attempt seen each poll
	// looks again, so that an attempt whose record is committed after a
	// newer one's is still shown.
	tailOverlap = 30 * time.Second
	// minTailInterval is the shortest --interval.
	minTailInterval = 100 * time.Millisecond
)

func attemptCommand(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attempt",
		Short: "List, follow and resend delivery attempts",
		Long: `List the delivery attempts of an app, an endpoint or a message on a running
hookline server, follow new ones as they are made, and resend an attempt's
message.

` + clientHelp,
	}
	cmd.AddCommand(attemptListCommand(getenv), attemptTailCommand(getenv), attemptResendCommand(getenv))
	return cmd
}

// attemptStatuses are the --status values and Svix's MessageStatus.
var attemptStatuses = map[string]models.MessageStatus{
	"success": models.MESSAGESTATUS_SUCCESS,
	"pending": models.MESSAGESTATUS_PENDING,
	"fail":    models.MESSAGESTATUS_FAIL,
	"sending": models.MESSAGESTATUS_SENDING,
}

// attemptTable returns a table of attempts, with its header or without
// (for the next rows of attempt tail).
func attemptTable(w io.Writer, header bool) *tabwriter.Writer {
	if !header {
		return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	}
	return newTable(w, "TIME", "ID", "MSG", "ENDPOINT", "STATUS", "CODE", "DURATION")
}

// attemptRow writes an attempt as a row of the table.
func attemptRow(tw *tabwriter.Writer, a *models.MessageAttemptOut) {
	code := "-"
	if a.ResponseStatusCode != 0 {
		code = strconv.Itoa(int(a.ResponseStatusCode))
	}
	row(tw, when(a.Timestamp), a.Id, a.MsgId, a.EndpointId, string(a.StatusText), code,
		(time.Duration(a.ResponseDurationMs) * time.Millisecond).String())
}

// endpointIDs lists the IDs of an app's endpoints, at most
// maxTailEndpoints of them.
func endpointIDs(ctx context.Context, c *sdkClient, app string) ([]string, error) {
	var ids []string
	var it *string
	limit := uint64(250)
	for len(ids) < maxTailEndpoints {
		l, err := c.Endpoint.List(ctx, app, &svix.EndpointListOptions{Limit: &limit, Iterator: it})
		if err != nil {
			return nil, c.err(err)
		}
		for _, e := range l.Data {
			ids = append(ids, e.Id)
		}
		if l.Done || l.Iterator == nil || len(l.Data) == 0 {
			break
		}
		it = l.Iterator
	}
	return ids, nil
}

// rawAttempts splits a list answer into its items as the server sent them.
func rawAttempts(data []byte) ([]json.RawMessage, error) {
	var l struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	return l.Data, nil
}

// newestFirst orders attempts newest first; IDs, which sort by creation
// time, break ties.
func newestFirst(a, b *models.MessageAttemptOut) int {
	if c := b.Timestamp.Compare(a.Timestamp); c != 0 {
		return c
	}
	return cmp.Compare(b.Id, a.Id)
}

func attemptListCommand(getenv func(string) string) *cobra.Command {
	var (
		out                outputFlag
		page               pageFlags
		app, endpoint, msg string
		status             string
	)
	cmd := &cobra.Command{
		Use:   "list --app APP [--endpoint ENDPOINT] [--msg MSG]",
		Short: "List delivery attempts, newest first",
		Long: `List the delivery attempts of an endpoint (--endpoint), of a message (--msg),
of a message to one endpoint (both), or of every endpoint of the app
(neither), newest first.

With neither, the attempts of up to 1,000 endpoints are merged and there is
no next page; --output json then prints {"data": [...], "done": ...} with
the API's attempts as they are.

` + clientHelp,
		Example: `  hookline attempt list --app acme --endpoint ep_2a... --status fail
  hookline attempt list --app acme --msg msg_2a... --output json`,
		Args: cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		if err := page.check(); err != nil {
			return err
		}
		var st *models.MessageStatus
		if status != "" {
			s, ok := attemptStatuses[status]
			if !ok {
				return usagef("--status %q: want success, pending, fail or sending", status)
			}
			st = &s
		}
		limit, it := page.options()
		ctx := cmd.Context()
		var l *models.ListResponseMessageAttemptOut
		var err error
		switch {
		case msg != "":
			o := &svix.MessageAttemptListByMsgOptions{Limit: limit, Iterator: it, Status: st}
			if endpoint != "" {
				o.EndpointId = &endpoint
			}
			l, err = c.MessageAttempt.ListByMsg(ctx, app, msg, o)
		case endpoint != "":
			l, err = c.MessageAttempt.ListByEndpoint(ctx, app, endpoint,
				&svix.MessageAttemptListByEndpointOptions{Limit: limit, Iterator: it, Status: st})
		default:
			if page.iterator != "" {
				return usagef("--iterator needs --endpoint or --msg: the attempts of a whole app come merged, in one page")
			}
			return listAppAttempts(cmd, c, out, app, page.limit, st)
		}
		if err != nil {
			return c.err(err)
		}
		if out.json() {
			return writeRaw(cmd.OutOrStdout(), c.raw())
		}
		tw := attemptTable(cmd.OutOrStdout(), true)
		for i := range l.Data {
			attemptRow(tw, &l.Data[i])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		more(cmd.ErrOrStderr(), l.Done, l.Iterator)
		return nil
	})
	page.bind(cmd)
	appFlag(cmd, &app)
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "the endpoint's attempts, by ID or uid")
	cmd.Flags().StringVar(&msg, "msg", "", "the message's attempts, by ID or event ID")
	cmd.Flags().StringVar(&status, "status", "", "only attempts that ended so: success, pending, fail or sending")
	return cmd
}

// appAttempt is an attempt with its JSON as the API sent it.
type appAttempt struct {
	models.MessageAttemptOut
	raw json.RawMessage
}

// endpointAttempts lists attempts to one endpoint with the API's JSON of
// each.
func endpointAttempts(ctx context.Context, c *sdkClient, app, endpoint string, o *svix.MessageAttemptListByEndpointOptions) ([]appAttempt, *models.ListResponseMessageAttemptOut, error) {
	l, err := c.MessageAttempt.ListByEndpoint(ctx, app, endpoint, o)
	if err != nil {
		return nil, nil, c.err(err)
	}
	raws, err := rawAttempts(c.raw())
	if err != nil {
		return nil, nil, err
	}
	if len(raws) != len(l.Data) {
		return nil, nil, errors.New("read the answer: its items do not match")
	}
	out := make([]appAttempt, len(l.Data))
	for i := range l.Data {
		out[i] = appAttempt{l.Data[i], raws[i]}
	}
	return out, l, nil
}

// listAppAttempts lists the newest attempts to every endpoint of an app.
func listAppAttempts(cmd *cobra.Command, c *sdkClient, out outputFlag, app string, limit uint64, st *models.MessageStatus) error {
	ctx := cmd.Context()
	ids, err := endpointIDs(ctx, c, app)
	if err != nil {
		return err
	}
	var all []appAttempt
	done := len(ids) < maxTailEndpoints
	for _, id := range ids {
		as, l, err := endpointAttempts(ctx, c, app, id, &svix.MessageAttemptListByEndpointOptions{Limit: &limit, Status: st})
		if err != nil {
			return err
		}
		all = append(all, as...)
		done = done && l.Done
	}
	slices.SortFunc(all, func(a, b appAttempt) int { return newestFirst(&a.MessageAttemptOut, &b.MessageAttemptOut) })
	if uint64(len(all)) > limit {
		all, done = all[:limit], false
	}
	if out.json() {
		raws := make([]json.RawMessage, len(all))
		for i := range all {
			raws[i] = all[i].raw
		}
		b, err := json.Marshal(struct {
			Data []json.RawMessage `json:"data"`
			Done bool              `json:"done"`
		}{raws, done})
		if err != nil {
			return err
		}
		return writeRaw(cmd.OutOrStdout(), b)
	}
	tw := attemptTable(cmd.OutOrStdout(), true)
	for i := range all {
		attemptRow(tw, &all[i].MessageAttemptOut)
	}
	return tw.Flush()
}

func attemptTailCommand(getenv func(string) string) *cobra.Command {
	var (
		out           outputFlag
		app, endpoint string
		interval      time.Duration
		last, count   int
	)
	cmd := &cobra.Command{
		Use:   "tail --app APP [--endpoint ENDPOINT]",
		Short: "Print new delivery attempts as they are made, until interrupted",
		Long: `Print the delivery attempts of an app's endpoints (or of one, --endpoint) as
they are made, oldest first, polling the server every --interval until
interrupted (Ctrl-C) or, with --count, until that many are printed. It first
prints the --last attempts made before it started.

With --output json it prints each attempt as the API's JSON, one per line.
An error of the server or the network is printed and the next poll tries
again; an API refusal (a wrong token, an unknown app) ends it.

` + clientHelp,
		Example: `  hookline attempt tail --app acme
  hookline attempt tail --app acme --endpoint ep_2a... --output json | jq .responseStatusCode`,
		Args: cobra.NoArgs,
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, _ []string, c *sdkClient) error {
		if interval < minTailInterval {
			return usagef("--interval %v: want at least %v", interval, minTailInterval)
		}
		if last < 0 || last > 250 || count < 0 {
			return usagef("--last wants 0 to 250 and --count 0 or more")
		}
		t := &tailer{c: c, app: app, endpoint: endpoint, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(),
			json: out.json(), count: count, seen: map[string]time.Time{}}
		return t.run(cmd.Context(), interval, last)
	})
	appFlag(cmd, &app)
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint", "", "only this endpoint's attempts, by ID or uid")
	f.DurationVar(&interval, "interval", 2*time.Second, "how often to ask the server for new attempts")
	f.IntVar(&last, "last", 10, "first print this many attempts made before the start, 0 to 250")
	f.IntVar(&count, "count", 0, "stop after printing this many new attempts (default: until interrupted)")
	return cmd
}

// tailer is one run of attempt tail.
type tailer struct {
	c             *sdkClient
	app, endpoint string
	out, errOut   io.Writer
	json          bool
	// count is how many new attempts to print before stopping, 0 for no
	// limit; news counts them. printed counts every line, with the
	// attempts from before the start.
	count, news, printed int
	// start is the server's time when the tail started: attempts before it
	// are not new.
	start time.Time
	// seen holds the attempts already printed or passed over, by ID, with
	// their time; newest is the time of the newest.
	seen   map[string]time.Time
	newest time.Time
}

// errTailDone ends a tail that printed --count attempts.
var errTailDone = errors.New("done")

func (t *tailer) run(ctx context.Context, interval time.Duration, last int) error {
	if err := t.begin(ctx, last); err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		err := t.poll(ctx)
		var ae *apiError
		switch {
		case errors.Is(err, errTailDone):
			return nil
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &ae) && ae.Status < 500:
			return err
		case err != nil:
			fmt.Fprintf(t.errOut, "hookline: %v; trying again in %v\n", err, interval)
		}
	}
}

// endpoints returns the endpoints the tail follows.
func (t *tailer) endpoints(ctx context.Context) ([]string, error) {
	if t.endpoint != "" {
		return []string{t.endpoint}, nil
	}
	return endpointIDs(ctx, t.c, t.app)
}

// begin fixes the start from the server's clock and prints the last
// attempts made before it.
func (t *tailer) begin(ctx context.Context, last int) error {
	ids, err := t.endpoints(ctx)
	if err != nil {
		return err
	}
	// The start is the server's clock at its first answer: attempts are
	// stamped by the server, whose clock may differ from this machine's.
	if t.endpoint == "" {
		t.start = t.c.last.date
	}
	var before []appAttempt
	limit := uint64(max(last, 1))
	for _, id := range ids {
		as, _, err := endpointAttempts(ctx, t.c, t.app, id, &svix.MessageAttemptListByEndpointOptions{Limit: &limit})
		if err != nil {
			return err
		}
		if t.start.IsZero() {
			t.start = t.c.last.date
		}
		before = append(before, as...)
	}
	if t.start.IsZero() {
		t.start = time.Now() // a server that sent no Date header
	}
	slices.SortFunc(before, func(a, b appAttempt) int { return newestFirst(&b.MessageAttemptOut, &a.MessageAttemptOut) })
	for i := range before {
		t.mark(&before[i].MessageAttemptOut)
	}
	// The polls look a little before the start, whose clock is rounded
	// down to the second: what is there from before is not new. What is
	// stamped after that second is, and the first poll prints it.
	old, err := t.scan(ctx, ids)
	if err != nil {
		return err
	}
	for i := range old {
		if old[i].Timestamp.Before(t.start.Add(time.Second)) {
			t.mark(&old[i].MessageAttemptOut)
		}
	}
	if last > 0 {
		return t.print(before[max(len(before)-last, 0):])
	}
	return nil
}

// mark records an attempt as seen.
func (t *tailer) mark(a *models.MessageAttemptOut) {
	t.seen[a.Id] = a.Timestamp
	if a.Timestamp.After(t.newest) {
		t.newest = a.Timestamp
	}
}

// poll prints the attempts made since the last poll, oldest first.
func (t *tailer) poll(ctx context.Context) error {
	ids, err := t.endpoints(ctx)
	if err != nil {
		return err
	}
	fresh, err := t.scan(ctx, ids)
	if err != nil {
		return err
	}
	slices.SortFunc(fresh, func(a, b appAttempt) int { return newestFirst(&b.MessageAttemptOut, &a.MessageAttemptOut) })
	for i := range fresh {
		t.mark(&fresh[i].MessageAttemptOut)
	}
	// Forget what the next poll no longer looks at.
	for id, at := range t.seen {
		if at.Before(t.newest.Add(-2 * tailOverlap)) {
			delete(t.seen, id)
		}
	}
	if t.count > 0 && len(fresh) >= t.count-t.news {
		fresh = fresh[:t.count-t.news]
		if err := t.print(fresh); err != nil {
			return err
		}
		return errTailDone
	}
	t.news += len(fresh)
	return t.print(fresh)
}

// scan lists the attempts to the endpoints not seen yet, from a little
// before the start or the newest attempt seen, whichever is later.
func (t *tailer) scan(ctx context.Context, ids []string) ([]appAttempt, error) {
	after := t.start
	if back := t.newest.Add(-tailOverlap); back.After(after) {
		after = back
	}
	// The filter is exclusive, and the server's Date header is rounded
	// down to the second.
	after = after.Add(-time.Second)
	limit := uint64(250)
	var fresh []appAttempt
	for _, id := range ids {
		var it *string
		for range maxTailPages {
			as, l, err := endpointAttempts(ctx, t.c, t.app, id,
				&svix.MessageAttemptListByEndpointOptions{Limit: &limit, Iterator: it, After: &after})
			if err != nil {
				return nil, err
			}
			for _, a := range as {
				if _, ok := t.seen[a.Id]; !ok {
					fresh = append(fresh, a)
				}
			}
			if l.Done || l.Iterator == nil || len(as) == 0 {
				break
			}
			it = l.Iterator
		}
	}
	return fresh, nil
}

// print writes attempts, oldest first, and counts them.
func (t *tailer) print(as []appAttempt) error {
	if len(as) == 0 {
		return nil
	}
	if t.json {
		for _, a := range as {
			if err := writeRaw(t.out, a.raw); err != nil {
				return err
			}
		}
	} else {
		tw := attemptTable(t.out, t.printed == 0)
		for i := range as {
			attemptRow(tw, &as[i].MessageAttemptOut)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	t.printed += len(as)
	return nil
}

func attemptResendCommand(getenv func(string) string) *cobra.Command {
	var (
		out      outputFlag
		app, msg string
	)
	cmd := &cobra.Command{
		Use:   "resend ATTEMPT --app APP --msg MSG",
		Short: "Send an attempt's message to its endpoint again, now",
		Long: `Send the message of an attempt (atmpt_...) to the endpoint it was made to
again, now: what "hookline msg resend" does, named by the attempt that
failed. The new attempt shows in "hookline attempt list".

` + clientHelp,
		Args: cobra.ExactArgs(1),
	}
	clientCommand(cmd, getenv, &out, func(cmd *cobra.Command, args []string, c *sdkClient) error {
		a, err := c.MessageAttempt.Get(cmd.Context(), app, msg, args[0], nil)
		if err != nil {
			return c.err(err)
		}
		if _, err := c.MessageAttempt.Resend(cmd.Context(), app, a.MsgId, a.EndpointId, nil); err != nil {
			return c.err(err)
		}
		out.say(cmd, "Resending %s to %s.\n", a.MsgId, a.EndpointId)
		return nil
	})
	appFlag(cmd, &app)
	cmd.Flags().StringVar(&msg, "msg", "", "the attempt's message, by ID or event ID (required)")
	_ = cmd.MarkFlagRequired("msg")
	return cmd
}
