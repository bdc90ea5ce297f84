package api

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// fakeStore is an in-memory store.Store for handler tests. It keeps the
// contract the interface documents (ID-or-uid lookups, conflicts, paging,
// event ID deduplication, one delivery per accepting endpoint) and hands
// out copies, so a handler that forgets to write back is caught.
type fakeStore struct {
	mu         sync.Mutex
	apps       map[string]*hookline.App
	eventTypes map[string]*hookline.EventType
	endpoints  map[string]*hookline.Endpoint
	messages   map[string]*hookline.Message
	deliveries map[string]*hookline.Delivery
	attempts   map[string]*hookline.Attempt
	idem       map[string]*store.IdempotentResponse // nil value: in progress
	settings   map[string]string
	fakeAccess // tokens and login codes
}

var _ store.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{
		apps:       map[string]*hookline.App{},
		eventTypes: map[string]*hookline.EventType{},
		endpoints:  map[string]*hookline.Endpoint{},
		messages:   map[string]*hookline.Message{},
		deliveries: map[string]*hookline.Delivery{},
		attempts:   map[string]*hookline.Attempt{},
		idem:       map[string]*store.IdempotentResponse{},
		settings:   map[string]string{},
	}
}

func cloneApp(a *hookline.App) *hookline.App {
	c := *a
	c.Metadata = maps.Clone(a.Metadata)
	if a.RateLimit != nil {
		r := *a.RateLimit
		c.RateLimit = &r
	}
	return &c
}

func cloneEventType(e *hookline.EventType) *hookline.EventType {
	c := *e
	c.Schemas = slices.Clone(e.Schemas)
	return &c
}

func cloneEndpoint(e *hookline.Endpoint) *hookline.Endpoint {
	c := *e
	c.EventTypes = slices.Clone(e.EventTypes)
	c.Channels = slices.Clone(e.Channels)
	c.Metadata = maps.Clone(e.Metadata)
	c.Headers = maps.Clone(e.Headers)
	c.Secrets = nil
	for _, s := range e.Secrets {
		s.Key = slices.Clone(s.Key)
		if s.ExpiresAt != nil {
			t := *s.ExpiresAt
			s.ExpiresAt = &t
		}
		c.Secrets = append(c.Secrets, s)
	}
	if e.RateLimit != nil {
		r := *e.RateLimit
		c.RateLimit = &r
	}
	if e.FailingSince != nil {
		t := *e.FailingSince
		c.FailingSince = &t
	}
	return &c
}

func cloneMessage(m *hookline.Message) *hookline.Message {
	c := *m
	c.Channels = slices.Clone(m.Channels)
	c.Payload = slices.Clone(m.Payload)
	return &c
}

// paginate returns one page of items as store.Page describes it; key is
// the value items are ordered by.
func paginate[T any](items []T, key func(*T) string, p store.Page) ([]T, bool) {
	sort.Slice(items, func(i, j int) bool { return key(&items[i]) < key(&items[j]) })
	if p.Desc {
		slices.Reverse(items)
	}
	limit := p.Limit
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	// after reports whether k comes after the iterator in list order.
	after := func(k string) bool {
		if p.Desc {
			return k < p.Iterator
		}
		return k > p.Iterator
	}
	if p.Iterator == "" {
		if len(items) <= limit {
			return items, true
		}
		return items[:limit], false
	}
	if !p.Prev {
		i := slices.IndexFunc(items, func(t T) bool { return after(key(&t)) })
		if i < 0 {
			return nil, true
		}
		items = items[i:]
		if len(items) <= limit {
			return items, true
		}
		return items[:limit], false
	}
	var before []T
	for _, t := range items {
		if k := key(&t); k != p.Iterator && !after(k) {
			before = append(before, t)
		}
	}
	if len(before) <= limit {
		return before, true
	}
	return before[len(before)-limit:], false
}

func inWindow(t time.Time, w store.Window) bool {
	return (w.Before == nil || t.Before(*w.Before)) && (w.After == nil || t.After(*w.After))
}

func (s *fakeStore) appLocked(idOrUID string) *hookline.App {
	if a, ok := s.apps[idOrUID]; ok {
		return a
	}
	for _, a := range s.apps {
		if a.UID != "" && a.UID == idOrUID {
			return a
		}
	}
	return nil
}

func (s *fakeStore) AppCreate(ctx context.Context, a *hookline.App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[a.ID] != nil || a.UID != "" && s.appLocked(a.UID) != nil {
		return fmt.Errorf("create app: %w", hookline.ErrConflict)
	}
	s.apps[a.ID] = cloneApp(a)
	return nil
}

func (s *fakeStore) AppGet(ctx context.Context, idOrUID string) (*hookline.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(idOrUID)
	if a == nil {
		return nil, fmt.Errorf("app %s: %w", idOrUID, hookline.ErrNotFound)
	}
	return cloneApp(a), nil
}

func (s *fakeStore) AppList(ctx context.Context, p store.Page) ([]hookline.App, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []hookline.App
	for _, a := range s.apps {
		all = append(all, *cloneApp(a))
	}
	page, done := paginate(all, func(a *hookline.App) string { return a.ID }, p)
	return page, done, nil
}

func (s *fakeStore) AppUpdate(ctx context.Context, a *hookline.App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[a.ID] == nil {
		return fmt.Errorf("app %s: %w", a.ID, hookline.ErrNotFound)
	}
	if o := s.appLocked(a.UID); a.UID != "" && o != nil && o.ID != a.ID {
		return fmt.Errorf("update app: %w", hookline.ErrConflict)
	}
	s.apps[a.ID] = cloneApp(a)
	return nil
}

func (s *fakeStore) AppDelete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[id] == nil {
		return fmt.Errorf("app %s: %w", id, hookline.ErrNotFound)
	}
	delete(s.apps, id)
	maps.DeleteFunc(s.endpoints, func(_ string, e *hookline.Endpoint) bool { return e.AppID == id })
	maps.DeleteFunc(s.messages, func(_ string, m *hookline.Message) bool { return m.AppID == id })
	maps.DeleteFunc(s.deliveries, func(_ string, d *hookline.Delivery) bool { return d.AppID == id })
	maps.DeleteFunc(s.attempts, func(_ string, a *hookline.Attempt) bool { return a.AppID == id })
	return nil
}

func (s *fakeStore) EventTypeCreate(ctx context.Context, e *hookline.EventType) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eventTypes[e.Name] != nil {
		return fmt.Errorf("create event type: %w", hookline.ErrConflict)
	}
	s.eventTypes[e.Name] = cloneEventType(e)
	return nil
}

func (s *fakeStore) EventTypeGet(ctx context.Context, name string) (*hookline.EventType, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.eventTypes[name]
	if e == nil {
		return nil, fmt.Errorf("event type %s: %w", name, hookline.ErrNotFound)
	}
	return cloneEventType(e), nil
}

func (s *fakeStore) EventTypeList(ctx context.Context, p store.Page, includeArchived bool) ([]hookline.EventType, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []hookline.EventType
	for _, e := range s.eventTypes {
		if includeArchived || !e.Archived {
			all = append(all, *cloneEventType(e))
		}
	}
	page, done := paginate(all, func(e *hookline.EventType) string { return e.Name }, p)
	return page, done, nil
}

func (s *fakeStore) EventTypeUpdate(ctx context.Context, e *hookline.EventType) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eventTypes[e.Name] == nil {
		return fmt.Errorf("event type %s: %w", e.Name, hookline.ErrNotFound)
	}
	s.eventTypes[e.Name] = cloneEventType(e)
	return nil
}

func (s *fakeStore) EventTypeDelete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eventTypes[name] == nil {
		return fmt.Errorf("event type %s: %w", name, hookline.ErrNotFound)
	}
	delete(s.eventTypes, name)
	return nil
}

func (s *fakeStore) endpointLocked(appID, idOrUID string) *hookline.Endpoint {
	if e, ok := s.endpoints[idOrUID]; ok && e.AppID == appID {
		return e
	}
	for _, e := range s.endpoints {
		if e.AppID == appID && e.UID != "" && e.UID == idOrUID {
			return e
		}
	}
	return nil
}

func (s *fakeStore) EndpointCreate(ctx context.Context, e *hookline.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[e.AppID] == nil {
		return fmt.Errorf("app %s: %w", e.AppID, hookline.ErrNotFound)
	}
	if s.endpoints[e.ID] != nil || e.UID != "" && s.endpointLocked(e.AppID, e.UID) != nil {
		return fmt.Errorf("create endpoint: %w", hookline.ErrConflict)
	}
	s.endpoints[e.ID] = cloneEndpoint(e)
	return nil
}

func (s *fakeStore) EndpointGet(ctx context.Context, appID, idOrUID string) (*hookline.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.endpointLocked(appID, idOrUID)
	if e == nil {
		return nil, fmt.Errorf("endpoint %s: %w", idOrUID, hookline.ErrNotFound)
	}
	return cloneEndpoint(e), nil
}

func (s *fakeStore) EndpointList(ctx context.Context, appID string, p store.Page) ([]hookline.Endpoint, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []hookline.Endpoint
	for _, e := range s.endpoints {
		if e.AppID == appID {
			all = append(all, *cloneEndpoint(e))
		}
	}
	page, done := paginate(all, func(e *hookline.Endpoint) string { return e.ID }, p)
	return page, done, nil
}

func (s *fakeStore) EndpointUpdate(ctx context.Context, e *hookline.Endpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.endpoints[e.ID]; o == nil || o.AppID != e.AppID {
		return fmt.Errorf("endpoint %s: %w", e.ID, hookline.ErrNotFound)
	}
	if o := s.endpointLocked(e.AppID, e.UID); e.UID != "" && o != nil && o.ID != e.ID {
		return fmt.Errorf("update endpoint: %w", hookline.ErrConflict)
	}
	s.endpoints[e.ID] = cloneEndpoint(e)
	return nil
}

func (s *fakeStore) EndpointDelete(ctx context.Context, appID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.endpoints[id]; o == nil || o.AppID != appID {
		return fmt.Errorf("endpoint %s: %w", id, hookline.ErrNotFound)
	}
	delete(s.endpoints, id)
	return nil
}

func (s *fakeStore) MessageCreate(ctx context.Context, batch []*store.MessageCreate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, mc := range batch {
		m := mc.Message
		if s.apps[m.AppID] == nil {
			mc.Err = fmt.Errorf("app %s: %w", m.AppID, hookline.ErrNotFound)
			continue
		}
		if m.EventID != "" {
			if o := s.messageLocked(m.AppID, m.EventID); o != nil {
				mc.Message, mc.Existing = cloneMessage(o), true
				continue
			}
		}
		s.messages[m.ID] = cloneMessage(m)
		var eps []*hookline.Endpoint
		for _, e := range s.endpoints {
			if e.AppID == m.AppID && mc.Accepts(e) {
				eps = append(eps, e)
			}
		}
		slices.SortFunc(eps, func(a, b *hookline.Endpoint) int { return strings.Compare(a.ID, b.ID) })
		for _, e := range eps {
			d := hookline.Delivery{
				ID: hookline.NewID(hookline.PrefixDelivery), AppID: m.AppID, MessageID: m.ID, EndpointID: e.ID,
				Status: hookline.StatusPending, Trigger: hookline.TriggerScheduled,
				NextAttempt: m.CreatedAt, CreatedAt: m.CreatedAt, UpdatedAt: m.CreatedAt,
			}
			s.deliveries[d.ID] = &d
			mc.Deliveries = append(mc.Deliveries, d)
		}
	}
	return nil
}

func (s *fakeStore) messageLocked(appID, idOrEventID string) *hookline.Message {
	if m, ok := s.messages[idOrEventID]; ok && m.AppID == appID {
		return m
	}
	for _, m := range s.messages {
		if m.AppID == appID && m.EventID != "" && m.EventID == idOrEventID {
			return m
		}
	}
	return nil
}

func (s *fakeStore) MessageGet(ctx context.Context, appID, idOrEventID string) (*hookline.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messageLocked(appID, idOrEventID)
	if m == nil {
		return nil, fmt.Errorf("message %s: %w", idOrEventID, hookline.ErrNotFound)
	}
	return cloneMessage(m), nil
}

func matchMessage(m *hookline.Message, eventTypes []string, channel string) bool {
	return (len(eventTypes) == 0 || slices.Contains(eventTypes, m.EventType)) &&
		(channel == "" || slices.Contains(m.Channels, channel))
}

func (s *fakeStore) MessageList(ctx context.Context, appID string, f store.MessageFilter) ([]hookline.Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []hookline.Message
	for _, m := range s.messages {
		if m.AppID == appID && inWindow(m.CreatedAt, f.Window) && matchMessage(m, f.EventTypes, f.Channel) {
			all = append(all, *cloneMessage(m))
		}
	}
	page, done := paginate(all, func(m *hookline.Message) string { return m.ID }, f.Page)
	return page, done, nil
}

func (s *fakeStore) DeliveryClaim(ctx context.Context, c store.Claim) ([]store.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*hookline.Delivery
	for _, d := range s.deliveries {
		if d.Status == hookline.StatusPending && !d.NextAttempt.After(c.Now) && !slices.Contains(c.Exclude, d.EndpointID) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *hookline.Delivery) int { return a.NextAttempt.Compare(b.NextAttempt) })
	if len(due) > c.Limit {
		due = due[:c.Limit]
	}
	var tasks []store.Task
	for _, d := range due {
		d.Status, d.NextAttempt = hookline.StatusSending, c.LeaseUntil
		tasks = append(tasks, store.Task{Delivery: *d, Message: cloneMessage(s.messages[d.MessageID]),
			Endpoint: cloneEndpoint(s.endpoints[d.EndpointID])})
	}
	return tasks, nil
}

func (s *fakeStore) DeliveryFinish(ctx context.Context, results []store.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		d := s.deliveries[r.Delivery.ID]
		if d == nil {
			return fmt.Errorf("delivery %s: %w", r.Delivery.ID, hookline.ErrNotFound)
		}
		d.Status, d.Attempts, d.NextAttempt, d.UpdatedAt = r.Delivery.Status, r.Delivery.Attempts, r.Delivery.NextAttempt, r.Delivery.UpdatedAt
		if r.Attempt != nil {
			a := *r.Attempt
			s.attempts[a.ID] = &a
		}
		if e := s.endpoints[d.EndpointID]; e != nil && r.DisableEndpoint != "" {
			e.Disabled, e.DisabledReason = true, r.DisableEndpoint
		}
	}
	return nil
}

func (s *fakeStore) DeliveryRelease(ctx context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if d := s.deliveries[id]; d != nil && d.Status == hookline.StatusSending {
			d.Status, d.NextAttempt = hookline.StatusPending, time.Time{}
		}
	}
	return nil
}

func (s *fakeStore) DeliveryCreate(ctx context.Context, d *hookline.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.messages[d.MessageID], s.endpoints[d.EndpointID]
	if m == nil || e == nil || m.AppID != d.AppID || e.AppID != d.AppID {
		return fmt.Errorf("message %s or endpoint %s: %w", d.MessageID, d.EndpointID, hookline.ErrNotFound)
	}
	for _, o := range s.deliveries {
		if o.MessageID == d.MessageID && o.EndpointID == d.EndpointID {
			o.Status, o.Trigger, o.Attempts, o.NextAttempt, o.UpdatedAt = d.Status, d.Trigger, 0, d.NextAttempt, d.UpdatedAt
			d.ID = o.ID
			return nil
		}
	}
	if d.ID == "" {
		d.ID = hookline.NewID(hookline.PrefixDelivery)
	}
	c := *d
	c.Attempts = 0
	s.deliveries[d.ID] = &c
	return nil
}

func (s *fakeStore) DeliveryRecover(ctx context.Context, appID, endpointID string, w store.Window, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.deliveries {
		if d.AppID == appID && d.EndpointID == endpointID && d.Status == hookline.StatusFail && inWindow(d.CreatedAt, w) {
			d.Status, d.Trigger, d.Attempts, d.NextAttempt, d.UpdatedAt = hookline.StatusPending, hookline.TriggerManual, 0, now, now
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) AttemptList(ctx context.Context, appID string, f store.AttemptFilter) ([]hookline.Attempt, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []hookline.Attempt
	for _, a := range s.attempts {
		if a.AppID != appID || f.MessageID != "" && a.MessageID != f.MessageID ||
			f.EndpointID != "" && a.EndpointID != f.EndpointID || f.Status != nil && a.Status != *f.Status ||
			!inWindow(a.CreatedAt, f.Window) {
			continue
		}
		switch {
		case f.StatusCodeClass == 0:
		case f.StatusCodeClass == 1:
			if a.StatusCode != 0 {
				continue
			}
		case a.StatusCode/100*100 != f.StatusCodeClass:
			continue
		}
		if m := s.messages[a.MessageID]; m == nil || !matchMessage(m, f.EventTypes, f.Channel) {
			continue
		}
		all = append(all, *a)
	}
	page, done := paginate(all, func(a *hookline.Attempt) string { return a.ID }, f.Page)
	return page, done, nil
}

func (s *fakeStore) AttemptGet(ctx context.Context, appID, msgID, attemptID string) (*hookline.Attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.attempts[attemptID]
	if a == nil || a.AppID != appID || a.MessageID != msgID {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, hookline.ErrNotFound)
	}
	c := *a
	return &c, nil
}

func (s *fakeStore) MessageEndpointList(ctx context.Context, appID, msgID string, p store.Page) ([]store.EndpointStatus, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []store.EndpointStatus
	for _, d := range s.deliveries {
		if e := s.endpoints[d.EndpointID]; d.AppID == appID && d.MessageID == msgID && e != nil {
			all = append(all, store.EndpointStatus{Endpoint: *cloneEndpoint(e), Delivery: *d})
		}
	}
	page, done := paginate(all, func(e *store.EndpointStatus) string { return e.Endpoint.ID }, p)
	return page, done, nil
}

func (s *fakeStore) EndpointMessageList(ctx context.Context, appID, endpointID string, f store.EndpointMessageFilter) ([]store.MessageStatus, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []store.MessageStatus
	for _, d := range s.deliveries {
		m := s.messages[d.MessageID]
		if d.AppID != appID || d.EndpointID != endpointID || m == nil || f.Status != nil && d.Status != *f.Status ||
			!inWindow(m.CreatedAt, f.Window) || !matchMessage(m, f.EventTypes, f.Channel) {
			continue
		}
		all = append(all, store.MessageStatus{Message: *cloneMessage(m), Delivery: *d})
	}
	page, done := paginate(all, func(m *store.MessageStatus) string { return m.Message.ID }, f.Page)
	return page, done, nil
}

func (s *fakeStore) IdempotencyBegin(ctx context.Context, key string, now time.Time) (*store.IdempotentResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, ok := s.idem[key]
	switch {
	case ok && resp == nil:
		return nil, fmt.Errorf("idempotency key in progress: %w", hookline.ErrConflict)
	case ok:
		c := *resp
		return &c, nil
	}
	s.idem[key] = nil
	return nil, nil
}

func (s *fakeStore) IdempotencyEnd(ctx context.Context, key string, resp *store.IdempotentResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if resp == nil {
		delete(s.idem, key)
		return nil
	}
	c := *resp
	c.Body = slices.Clone(resp.Body)
	s.idem[key] = &c
	return nil
}

func (s *fakeStore) SettingGet(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.settings[key]
	if !ok {
		return "", fmt.Errorf("setting %s: %w", key, hookline.ErrNotFound)
	}
	return v, nil
}

func (s *fakeStore) SettingPut(ctx context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings[key] = value
	return nil
}

func (s *fakeStore) SettingInit(ctx context.Context, key, value string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.settings[key]; ok {
		return v, nil
	}
	s.settings[key] = value
	return value, nil
}

func (s *fakeStore) Close() error { return nil }
