package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// allMessagesPage lists the messages of every app, newest first.
type allMessagesPage struct {
	basePage
	Filter   logFilter
	App      string
	Types    []option
	Rows     []appMessageRow
	Errors   map[string]string
	NotFound string
	// Unsupported is set when the store cannot list across apps.
	Unsupported  bool
	Newer, Older string
}

type appMessageRow struct {
	messageRow
	AppID string
}

// Query returns the filter as a query string, for the pager's links.
func (p allMessagesPage) Query() string {
	v := url.Values{}
	for k, s := range map[string]string{"eventType": p.Filter.EventType, "since": p.Filter.Since, "until": p.Filter.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "&" + v.Encode()
}

func (s *server) allMessages(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	ctx := r.Context()
	pg := allMessagesPage{basePage: s.base(sess, "Messages", "messages"), Errors: map[string]string{},
		App: strings.TrimSpace(q.Get("app")),
		Filter: logFilter{Status: q.Get("status"), EventType: q.Get("eventType"), Since: q.Get("since"), Until: q.Get("until"),
			Q: strings.TrimSpace(q.Get("q"))}}
	// An app narrows the list to its own logs, with the filters.
	if pg.App != "" {
		a, err := s.ops.App(ctx, sess.acc, pg.App)
		if err == nil {
			v := url.Values{}
			for k, val := range map[string]string{"q": pg.Filter.Q, "status": pg.Filter.Status, "eventType": pg.Filter.EventType,
				"since": pg.Filter.Since, "until": pg.Filter.Until} {
				if val != "" {
					v.Set(k, val)
				}
			}
			to := "/console/apps/" + url.PathEscape(a.ID) + "/messages"
			if len(v) > 0 {
				to += "?" + v.Encode()
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil
		}
		if !errors.Is(err, hookline.ErrNotFound) {
			return err
		}
		pg.Errors["app"] = "There is no application with this ID or uid."
	}
	if pg.Filter.Q != "" {
		m, ok, err := s.ops.MessageFind(ctx, sess.acc, pg.Filter.Q)
		switch {
		case err == nil && ok:
			http.Redirect(w, r, "/console/apps/"+url.PathEscape(m.AppID)+"/messages/"+url.PathEscape(m.ID), http.StatusSeeOther)
			return nil
		case err != nil && !errors.Is(err, hookline.ErrNotFound):
			return err
		}
		pg.NotFound = pg.Filter.Q
	}
	if pg.Filter.Status != "" {
		pg.Errors["status"] = "Choose an application to see its messages by status."
	}
	p, err := pageOf(q, hookline.PrefixMessage, pageSize)
	if err != nil {
		return err
	}
	win := store.Window{}
	if since := parseLocal("since", pg.Filter.Since, pg.Errors); since != nil {
		after := since.Add(-time.Microsecond)
		win.After = &after
	}
	win.Before = parseLocal("until", pg.Filter.Until, pg.Errors)
	var types []string
	if pg.Filter.EventType != "" {
		types = []string{pg.Filter.EventType}
	}
	ets, err := s.ops.EventTypes(ctx, sess.acc, catalogMax)
	if err != nil {
		return err
	}
	for _, et := range ets {
		pg.Types = append(pg.Types, option{Value: et.Name, Label: et.Name, Selected: et.Name == pg.Filter.EventType})
	}
	msgs, done, ok, err := s.ops.MessageListAll(ctx, sess.acc, store.MessageFilter{Page: p, Window: win, EventTypes: types})
	if err != nil {
		return err
	}
	pg.Unsupported = !ok
	for i := range msgs {
		m := &msgs[i]
		row := appMessageRow{messageRow: messageRow{ID: m.ID, EventType: m.EventType, EventID: m.EventID, CreatedAt: m.CreatedAt}, AppID: m.AppID}
		if row.State, row.StateText, err = s.summaryOf(ctx, sess.acc, m.AppID, m.ID); err != nil {
			return err
		}
		pg.Rows = append(pg.Rows, row)
	}
	if len(msgs) > 0 {
		pg.Newer, pg.Older = neighbours(p, done, msgs[0].ID, msgs[len(msgs)-1].ID)
	}
	return s.render(w, http.StatusOK, "console/messages", pg)
}
