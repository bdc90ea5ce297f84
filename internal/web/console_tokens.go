package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
)

// tokensPage lists the stored tokens, with the form to make one and, once,
// the secret of the one just made.
type tokensPage struct {
	basePage
	Tokens []tokenRow
	// Secret is the new token's secret, shown only on the page that
	// answers its creation.
	Secret       string
	Form         tokenForm
	Errors       map[string]string
	Newer, Older string
}

type tokenRow struct {
	hookline.Token
	// Active is false once the token expired or was revoked.
	Active bool
	// What says what the token reaches: its scope, or its app.
	What string
}

type tokenForm struct {
	Name, Scope, App, Expiry string
}

func (s *server) tokenList(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.renderTokens(w, r, sess, http.StatusOK, tokensPage{Form: tokenForm{Scope: "read-only"}})
}

func (s *server) renderTokens(w http.ResponseWriter, r *http.Request, sess *session, status int, pg tokensPage) error {
	pg.basePage = s.base(sess, "Tokens", "tokens")
	if pg.Errors == nil {
		pg.Errors = map[string]string{}
	}
	q := r.URL.Query()
	pg.Flash = map[string]string{"revoked": "Token revoked."}[q.Get("done")]
	p, err := pageOf(q, hookline.PrefixToken, pageSize)
	if err != nil {
		return err
	}
	toks, done, err := s.ops.TokenList(r.Context(), sess.acc, p)
	if err != nil {
		return err
	}
	now := s.now()
	for _, t := range toks {
		row := tokenRow{Token: t, Active: t.Active(now), What: string(t.Scope)}
		if t.Scope == hookline.ScopeApp {
			row.What = "app " + t.AppID
		}
		pg.Tokens = append(pg.Tokens, row)
	}
	if len(toks) > 0 {
		pg.Newer, pg.Older = neighbours(p, done, toks[0].ID, toks[len(toks)-1].ID)
	}
	return s.render(w, status, "console/tokens", pg)
}

// tokenExpiries are the form's choices of expiry, in seconds; "" is none.
var tokenExpiries = map[string]time.Duration{"": 0, "86400": 24 * time.Hour, "2592000": 30 * 24 * time.Hour, "31536000": 365 * 24 * time.Hour}

func (s *server) tokenCreate(w http.ResponseWriter, r *http.Request, sess *session) error {
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Scope: r.PostFormValue("scope"),
		App: strings.TrimSpace(r.PostFormValue("app")), Expiry: r.PostFormValue("expiry")}
	errs := map[string]string{}
	now := s.now()
	t := &hookline.Token{Name: f.Name, Scope: hookline.Scope(f.Scope), CreatedAt: now}
	switch t.Scope {
	case hookline.ScopeAdmin:
	case hookline.ScopeReadOnly:
		t.ReadOnly, t.Capabilities = true, []hookline.Capability{hookline.CapViewBase}
	case hookline.ScopeApp:
		t.Capabilities = hookline.AppCapabilities
		a, err := s.ops.App(r.Context(), sess.acc, f.App)
		switch {
		case f.App == "":
			errs["app"] = "Name the application, by ID or uid."
		case errors.Is(err, hookline.ErrNotFound):
			errs["app"] = "There is no application " + strconv.Quote(f.App) + "."
		case err != nil:
			return err
		default:
			t.AppID = a.ID
		}
	default:
		errs["scope"] = "Choose a scope."
	}
	d, ok := tokenExpiries[f.Expiry]
	if !ok {
		errs["expiry"] = "Choose an expiry."
	} else if d > 0 {
		exp := now.Add(d)
		t.ExpiresAt = &exp
	}
	var secret string
	var err error
	if len(errs) == 0 {
		secret, err = s.ops.TokenCreate(r.Context(), sess.acc, t)
	}
	var ve *hookline.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			errs[fe.Loc[len(fe.Loc)-1]] = fe.Msg
		}
		err = nil
	}
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return s.renderTokens(w, r, sess, http.StatusUnprocessableEntity, tokensPage{Form: f, Errors: errs})
	}
	// The secret is shown once, on this answer, never in a redirect's URL.
	return s.renderTokens(w, r, sess, http.StatusCreated, tokensPage{Form: tokenForm{Scope: "read-only"}, Secret: secret})
}

func (s *server) tokenRevoke(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.ops.TokenRevoke(r.Context(), sess.acc, r.PathValue("token_id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/tokens?done=revoked", http.StatusSeeOther)
	return nil
}
