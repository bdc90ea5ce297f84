package ops

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// MaxRecoverWindow is how far back a recovery may reach, as in Svix: two
// weeks, plus five minutes so that "now minus two weeks" computed on a
// client with a slow clock still passes.
const MaxRecoverWindow = 14*24*time.Hour + 5*time.Minute

// Publisher makes new messages durable. The server wires its group
// committer, which hands the new deliveries to the local dispatcher.
type Publisher interface {
	Publish(ctx context.Context, m *store.MessageCreate) error
}

// wake tells the dispatcher that deliveries are due now.
func (s *Service) wake() {
	if s.wakeFn != nil {
		s.wakeFn()
	}
}

// Publish makes one message durable, through the publisher when there is
// one, else as a batch of one (waking the dispatcher for its deliveries).
func (s *Service) Publish(ctx context.Context, mc *store.MessageCreate) error {
	var err error
	if s.pub != nil {
		err = s.pub.Publish(ctx, mc)
	} else {
		err = s.st.MessageCreate(ctx, []*store.MessageCreate{mc})
		if err == nil && mc.Err == nil && len(mc.Deliveries) > 0 {
			s.wake()
		}
	}
	if err == nil {
		err = mc.Err
	}
	return err
}

// MessageList lists the messages of the app key names.
func (s *Service) MessageList(ctx context.Context, acc *hookline.Access, appKey string, f store.MessageFilter) ([]hookline.Message, bool, error) {
	a, err := s.app(ctx, acc, hookline.CapViewBase, appKey)
	if err != nil {
		return nil, false, err
	}
	return s.st.MessageList(ctx, a.ID, f)
}

// Message returns a message, by ID or eventId, of the app key names.
func (s *Service) Message(ctx context.Context, acc *hookline.Access, appKey, id string) (*hookline.Message, error) {
	a, err := s.app(ctx, acc, hookline.CapViewBase, appKey)
	if err != nil {
		return nil, err
	}
	m, err := s.st.MessageGet(ctx, a.ID, id)
	return m, lookup(err, "message", id)
}

// MessageEndpoints lists the endpoints a message was sent to, each with
// the state of its delivery.
func (s *Service) MessageEndpoints(ctx context.Context, acc *hookline.Access, appKey, msgID string, p store.Page) ([]store.EndpointStatus, bool, error) {
	m, err := s.Message(ctx, acc, appKey, msgID)
	if err != nil {
		return nil, false, err
	}
	return s.st.MessageEndpointList(ctx, m.AppID, m.ID, p)
}

// EndpointMessages lists the messages sent to an endpoint, each with the
// state of its delivery.
func (s *Service) EndpointMessages(ctx context.Context, acc *hookline.Access, appKey, endpointID string, f store.EndpointMessageFilter) ([]store.MessageStatus, bool, error) {
	e, err := s.Endpoint(ctx, acc, appKey, endpointID)
	if err != nil {
		return nil, false, err
	}
	return s.st.EndpointMessageList(ctx, e.AppID, e.ID, f)
}

// AttemptList lists the attempts of the app key names that f selects.
func (s *Service) AttemptList(ctx context.Context, acc *hookline.Access, appKey string, f store.AttemptFilter) ([]hookline.Attempt, bool, error) {
	a, err := s.app(ctx, acc, hookline.CapViewBase, appKey)
	if err != nil {
		return nil, false, err
	}
	return s.st.AttemptList(ctx, a.ID, f)
}

// Attempt returns one attempt of a message.
func (s *Service) Attempt(ctx context.Context, acc *hookline.Access, appKey, msgID, attemptID string) (*hookline.Attempt, error) {
	m, err := s.Message(ctx, acc, appKey, msgID)
	if err != nil {
		return nil, err
	}
	at, err := s.st.AttemptGet(ctx, m.AppID, m.ID, attemptID)
	return at, lookup(err, "attempt", attemptID)
}

// Resend queues a message for an endpoint again, due now, as a manual
// delivery, and wakes the dispatcher.
func (s *Service) Resend(ctx context.Context, acc *hookline.Access, appKey, msgID, endpointID string) error {
	a, err := s.app(ctx, acc, hookline.CapCreateAttempts, appKey)
	if err != nil {
		return err
	}
	m, err := s.st.MessageGet(ctx, a.ID, msgID)
	if err != nil {
		return lookup(err, "message", msgID)
	}
	e, err := s.st.EndpointGet(ctx, a.ID, endpointID)
	if err != nil {
		return lookup(err, "endpoint", endpointID)
	}
	now := s.now()
	d := &hookline.Delivery{
		ID:          hookline.NewID(hookline.PrefixDelivery),
		AppID:       a.ID,
		MessageID:   m.ID,
		EndpointID:  e.ID,
		Status:      hookline.StatusPending,
		Trigger:     hookline.TriggerManual,
		NextAttempt: now,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := s.st.DeliveryCreate(ctx, d); err != nil {
		return err
	}
	s.wake()
	return nil
}

// Recover queues again every delivery to an endpoint that failed and was
// created from since (inclusive) to until (exclusive; nil means now), at
// most 14 days, and returns how many.
func (s *Service) Recover(ctx context.Context, acc *hookline.Access, appKey, endpointID string, since time.Time, until *time.Time) (int, error) {
	e, err := s.endpoint(ctx, acc, hookline.CapCreateAttempts, appKey, endpointID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	end := now
	if until != nil {
		end = *until
	}
	if !since.Before(end) {
		return 0, hookline.Invalid([]string{"body", "since"}, "must be before until")
	}
	if since.Before(end.Add(-MaxRecoverWindow)) {
		return 0, hookline.Invalid([]string{"body", "since"}, "Cannot recover more than 14 days of messages")
	}
	// The window's bounds are exclusive; since is meant inclusively.
	after := since.Add(-time.Microsecond)
	n, err := s.st.DeliveryRecover(ctx, e.AppID, e.ID, store.Window{After: &after, Before: &end}, now)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.wake()
	}
	return n, nil
}

// ErrDisabled means an operation needs an enabled endpoint.
var ErrDisabled = errors.New("endpoint disabled")

// SendExample publishes an example message of an event type to one
// endpoint only, whatever event types and channels it subscribes to, so
// its owner can see a delivery arrive. The payload is the event type's
// example number index (see Example).
func (s *Service) SendExample(ctx context.Context, acc *hookline.Access, appKey, endpointID, eventType string, index int) (*hookline.Message, error) {
	e, err := s.endpoint(ctx, acc, hookline.CapCreateAttempts, appKey, endpointID)
	if err != nil {
		return nil, err
	}
	if e.Disabled {
		return nil, &Error{Kind: ErrDisabled, Detail: "endpoint " + e.ID + " is disabled; enable it to send it an example"}
	}
	et, err := s.st.EventTypeGet(ctx, eventType)
	if errors.Is(err, hookline.ErrNotFound) {
		return nil, hookline.Invalid([]string{"body", "eventType"}, "Event type "+quote(eventType)+" not found in the catalog")
	}
	if err != nil {
		return nil, err
	}
	payload, err := Example(et, index)
	if err != nil {
		return nil, err
	}
	m := &hookline.Message{
		ID:        hookline.NewID(hookline.PrefixMessage),
		AppID:     e.AppID,
		EventType: et.Name,
		Payload:   payload,
		CreatedAt: s.now(),
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	mc := &store.MessageCreate{Message: m, Endpoint: e.ID}
	if err := s.Publish(ctx, mc); err != nil {
		return nil, lookup(err, "application", e.AppID)
	}
	return mc.Message, nil
}

// MessageFind finds a message by ID in any app, when the store can;
// ok is false when it cannot.
func (s *Service) MessageFind(ctx context.Context, acc *hookline.Access, id string) (m *hookline.Message, ok bool, err error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, false, err
	}
	mf, ok := s.st.(store.MessageFinder)
	if !ok {
		return nil, false, nil
	}
	m, err = mf.MessageFind(ctx, id)
	if err == nil && m.AppID == opwebhook.AppID {
		err = hookline.ErrNotFound
	}
	return m, true, lookup(err, "message", id)
}

// MessageListAll lists the messages of every app, when the store can;
// ok is false when it cannot. The operator's own are left out.
func (s *Service) MessageListAll(ctx context.Context, acc *hookline.Access, f store.MessageFilter) (msgs []hookline.Message, done, ok bool, err error) {
	if err := acc.Require(hookline.CapRead, ""); err != nil {
		return nil, false, false, err
	}
	mf, ok := s.st.(store.MessageFinder)
	if !ok {
		return nil, false, false, nil
	}
	msgs, done, err = mf.MessageListAll(ctx, f)
	msgs = slices.DeleteFunc(msgs, func(m hookline.Message) bool { return m.AppID == opwebhook.AppID })
	return msgs, done, true, err
}
