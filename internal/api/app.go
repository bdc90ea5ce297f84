package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
)

// applicationIn is Svix's ApplicationIn, the body of a create or a PUT.
type applicationIn struct {
	Name string  `json:"name"`
	UID  *string `json:"uid"`
	// RateLimit is Svix's deprecated name for ThrottleRate; both are
	// accepted and ThrottleRate wins when both are set, as in Svix.
	RateLimit    *int              `json:"rateLimit"`
	ThrottleRate *int              `json:"throttleRate"`
	Metadata     map[string]string `json:"metadata"`
}

// apply sets every caller-settable field of a from in: a PUT replaces.
func (in *applicationIn) apply(a *hookline.App) {
	a.Name = in.Name
	a.UID = deref(in.UID)
	a.RateLimit = in.ThrottleRate
	if a.RateLimit == nil {
		a.RateLimit = in.RateLimit
	}
	a.Metadata = orEmpty(in.Metadata)
}

// applicationPatch is Svix's ApplicationPatch: absent fields stay, null
// clears the nullable ones.
type applicationPatch struct {
	Name         field[string]            `json:"name"`
	UID          field[string]            `json:"uid"`
	RateLimit    field[int]               `json:"rateLimit"`
	ThrottleRate field[int]               `json:"throttleRate"`
	Metadata     field[map[string]string] `json:"metadata"`
}

func (p *applicationPatch) apply(a *hookline.App) {
	a.Name = p.Name.valueOr(a.Name)
	if p.UID.Set {
		a.UID = p.UID.Value
	}
	if p.RateLimit.Set {
		a.RateLimit = p.RateLimit.ptr()
	}
	if p.ThrottleRate.Set {
		a.RateLimit = p.ThrottleRate.ptr()
	}
	a.Metadata = p.Metadata.valueOr(a.Metadata)
}

// applicationOut is Svix's ApplicationOut.
type applicationOut struct {
	ID   string  `json:"id"`
	UID  *string `json:"uid,omitempty"`
	Name string  `json:"name"`
	// RateLimit repeats ThrottleRate under its deprecated name for older
	// SDKs; Svix leaves it out when unset.
	RateLimit    *int              `json:"rateLimit,omitempty"`
	ThrottleRate *int              `json:"throttleRate"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
}

func applicationToWire(a *hookline.App) applicationOut {
	return applicationOut{
		ID:           a.ID,
		UID:          ptr(a.UID),
		Name:         a.Name,
		RateLimit:    a.RateLimit,
		ThrottleRate: a.RateLimit,
		Metadata:     orEmpty(a.Metadata),
		CreatedAt:    a.CreatedAt.UTC(),
		UpdatedAt:    a.UpdatedAt.UTC(),
	}
}

// app loads the app named by the {app_id} path value, an ID or a uid.
func (s *server) app(r *http.Request) (*hookline.App, error) {
	id := r.PathValue("app_id")
	a, err := s.st.AppGet(r.Context(), id)
	return a, lookup(err, "application", id)
}

func (s *server) appList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	p := q.page(pageSpec{validIterator: idIterator(hookline.PrefixApp), orderable: true})
	if err := q.err(); err != nil {
		return err
	}
	if p.Iterator == "" && !p.Desc && !p.Prev {
		// The reserved app of the operator's endpoints has the lowest ID
		// there is: a first page starting after it leaves it out.
		p.Iterator = opwebhook.AppID
	}
	apps, done, err := s.st.AppList(r.Context(), p)
	if err != nil {
		return err
	}
	if n := len(apps); n > 0 {
		// Elsewhere it can only be the last app of a page that walks
		// down to the lowest ID, which then ends the list.
		lowest := 0
		if p.Desc {
			lowest = n - 1
		}
		if apps[lowest].ID == opwebhook.AppID {
			apps = slices.Delete(apps, lowest, lowest+1)
			done = true
		}
	}
	out := make([]applicationOut, len(apps))
	for i := range apps {
		out[i] = applicationToWire(&apps[i])
	}
	writeJSON(w, http.StatusOK, newList(out, done, func(a *applicationOut) string { return a.ID }))
	return nil
}

// appCreate creates an app. With get_if_exists=true, an app with the same
// uid is returned (200) instead of a conflict: the SDKs' GetOrCreate.
func (s *server) appCreate(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	getIfExists := q.bool("get_if_exists", false)
	if err := q.err(); err != nil {
		return err
	}
	var in applicationIn
	if err := decode(r, &in); err != nil {
		return err
	}
	now := s.now()
	a := &hookline.App{ID: hookline.NewID(hookline.PrefixApp), CreatedAt: now, UpdatedAt: now}
	in.apply(a)
	if err := a.Validate(); err != nil {
		return err
	}
	if getIfExists && a.UID != "" {
		if existing, err := s.st.AppGet(r.Context(), a.UID); err == nil {
			writeJSON(w, http.StatusOK, applicationToWire(existing))
			return nil
		} else if !errors.Is(err, hookline.ErrNotFound) {
			return err
		}
	}
	err := s.st.AppCreate(r.Context(), a)
	if errors.Is(err, hookline.ErrConflict) {
		if getIfExists {
			// Another request created it since the lookup above.
			if existing, err := s.st.AppGet(r.Context(), a.UID); err == nil {
				writeJSON(w, http.StatusOK, applicationToWire(existing))
				return nil
			}
		}
		return conflict("an application with uid " + quote(a.UID) + " already exists")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, applicationToWire(a))
	return nil
}

func (s *server) appGet(w http.ResponseWriter, r *http.Request) error {
	a, err := s.app(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationToWire(a))
	return nil
}

// appUpdate replaces an app, or creates it (201) when none has the ID or
// uid in the path. A created app takes the path as its uid when the body
// names none, so that repeating the PUT updates it instead of creating
// another.
func (s *server) appUpdate(w http.ResponseWriter, r *http.Request) error {
	var in applicationIn
	if err := decode(r, &in); err != nil {
		return err
	}
	id := r.PathValue("app_id")
	a, err := s.st.AppGet(r.Context(), id)
	status := http.StatusOK
	now := s.now()
	switch {
	case errors.Is(err, hookline.ErrNotFound):
		status = http.StatusCreated
		a = &hookline.App{ID: hookline.NewID(hookline.PrefixApp), CreatedAt: now}
		in.apply(a)
		if a.UID == "" && !hookline.IsID(hookline.PrefixApp, id) {
			a.UID = id
		}
	case err != nil:
		return err
	default:
		in.apply(a)
	}
	a.UpdatedAt = now
	if err := a.Validate(); err != nil {
		return err
	}
	if status == http.StatusCreated {
		err = s.st.AppCreate(r.Context(), a)
	} else {
		err = s.st.AppUpdate(r.Context(), a)
		s.appIDs.clear()
	}
	if errors.Is(err, hookline.ErrConflict) {
		return conflict("an application with uid " + quote(a.UID) + " already exists")
	}
	if err != nil {
		return err
	}
	writeJSON(w, status, applicationToWire(a))
	return nil
}

func (s *server) appPatch(w http.ResponseWriter, r *http.Request) error {
	var p applicationPatch
	if err := decode(r, &p); err != nil {
		return err
	}
	a, err := s.app(r)
	if err != nil {
		return err
	}
	p.apply(a)
	a.UpdatedAt = s.now()
	if err := a.Validate(); err != nil {
		return err
	}
	err = s.st.AppUpdate(r.Context(), a)
	s.appIDs.clear()
	if errors.Is(err, hookline.ErrConflict) {
		return conflict("an application with uid " + quote(a.UID) + " already exists")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationToWire(a))
	return nil
}

func (s *server) appDelete(w http.ResponseWriter, r *http.Request) error {
	a, err := s.app(r)
	if err != nil {
		return err
	}
	err = s.st.AppDelete(r.Context(), a.ID)
	s.appIDs.clear()
	if err != nil {
		return lookup(err, "application", a.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ptr returns a pointer to s, or nil for "": optional strings are null on
// the wire and empty in the domain.
func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// orEmpty returns m, or an empty map for nil: metadata and headers are
// objects on the wire, never null.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ptr returns the field's value as a pointer, nil when null.
func (f field[T]) ptr() *T {
	if f.Null || !f.Set {
		return nil
	}
	v := f.Value
	return &v
}
