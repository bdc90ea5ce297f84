package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
)

// tokenRoutes registers hookline's own token management: API tokens beyond
// the bootstrap admin token, for the whole API, read-only, or one app.
func (s *server) tokenRoutes() {
	s.route("GET /api/v1/token", s.tokenList)
	s.route("POST /api/v1/token", s.tokenCreate)
	s.route("GET /api/v1/token/{token_id}", s.tokenGet)
	s.route("DELETE /api/v1/token/{token_id}", s.tokenRevoke)
}

// tokenIn is the body of a token creation.
type tokenIn struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	// AppID is the app of an app-scoped token, by ID or uid.
	AppID        *string  `json:"appId"`
	Capabilities []string `json:"capabilities"`
	ReadOnly     bool     `json:"readOnly"`
	// Expiry is the token's lifetime in seconds; none is forever.
	Expiry *int64 `json:"expiry"`
}

// tokenOut is a token as the API shows it: never its secret, except as
// Token in the answer to its creation, the one time it is shown.
type tokenOut struct {
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
	Token        string     `json:"token,omitempty"`
}

func tokenToWire(t *hookline.Token) tokenOut {
	caps := make([]string, len(t.Capabilities))
	for i, c := range t.Capabilities {
		caps[i] = string(c)
	}
	utc := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		u := p.UTC()
		return &u
	}
	return tokenOut{ID: t.ID, Name: t.Name, Scope: string(t.Scope), AppID: ptr(t.AppID), Capabilities: caps,
		ReadOnly: t.ReadOnly || t.Scope == hookline.ScopeReadOnly, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: utc(t.ExpiresAt), LastUsedAt: utc(t.LastUsedAt), RevokedAt: utc(t.RevokedAt)}
}

// maxTokenExpiry bounds a token's lifetime in seconds (about 100 years),
// so that its expiry time is always representable.
const maxTokenExpiry = 100 * 365 * 24 * 3600

// tokenCreate creates a token and answers it with its secret, shown only
// this once.
func (s *server) tokenCreate(w http.ResponseWriter, r *http.Request) error {
	var in tokenIn
	if err := decode(r, &in); err != nil {
		return err
	}
	now := s.now()
	t := &hookline.Token{ID: hookline.NewID(hookline.PrefixToken), Name: in.Name, Scope: hookline.Scope(in.Scope),
		ReadOnly: in.ReadOnly, CreatedAt: now}
	if in.Scope == "" {
		return hookline.Invalid([]string{"body", "scope"}, `must be "admin", "read-only" or "app"`)
	}
	if t.Scope == hookline.ScopeReadOnly {
		t.ReadOnly = true
	}
	for _, c := range in.Capabilities {
		t.Capabilities = append(t.Capabilities, hookline.Capability(c))
	}
	switch {
	case t.Scope == hookline.ScopeApp && in.Capabilities == nil:
		t.Capabilities = hookline.AppCapabilities // as Svix gives a portal access that names none
	case t.Scope == hookline.ScopeReadOnly && in.Capabilities == nil:
		t.Capabilities = []hookline.Capability{hookline.CapViewBase}
	case t.Scope == hookline.ScopeApp && !slices.Contains(t.Capabilities, hookline.CapViewBase):
		t.Capabilities = append([]hookline.Capability{hookline.CapViewBase}, t.Capabilities...) // always held, as in a portal access
	}
	if in.Expiry != nil {
		if *in.Expiry < 1 || *in.Expiry > maxTokenExpiry {
			return hookline.Invalid([]string{"body", "expiry"}, "must be a number of seconds from 1 to 3153600000")
		}
		exp := now.Add(time.Duration(*in.Expiry) * time.Second)
		t.ExpiresAt = &exp
	}
	if in.AppID != nil && *in.AppID != "" {
		a, err := s.st.AppGet(r.Context(), *in.AppID)
		if err == nil && a.ID == opwebhook.AppID {
			err = hookline.ErrNotFound
		}
		if errors.Is(err, hookline.ErrNotFound) {
			return hookline.Invalid([]string{"body", "appId"}, "no application "+quote(*in.AppID))
		}
		if err != nil {
			return err
		}
		t.AppID = a.ID
	}
	secret, err := s.ops.TokenCreate(r.Context(), accessFrom(r.Context()), t)
	if err != nil {
		return opsErr(err)
	}
	out := tokenToWire(t)
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// tokenList lists tokens, oldest first, revoked and expired ones too.
func (s *server) tokenList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixToken), orderable: true})
	if err := q.err(); err != nil {
		return err
	}
	toks, done, err := s.st.TokenList(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]tokenOut, len(toks))
	for i := range toks {
		out[i] = tokenToWire(&toks[i])
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(t *tokenOut) string { return t.ID }))
	return nil
}

func (s *server) tokenGet(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("token_id")
	t, err := s.st.TokenGet(r.Context(), id)
	if err != nil {
		return lookup(err, "token", id)
	}
	writeJSON(w, http.StatusOK, tokenToWire(t))
	return nil
}

// tokenRevoke revokes a token at once; revoking it again changes nothing.
func (s *server) tokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("token_id")
	if err := s.st.TokenRevoke(r.Context(), id, s.now()); err != nil {
		return lookup(err, "token", id)
	}
	s.tokens.clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
