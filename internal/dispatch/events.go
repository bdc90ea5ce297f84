package dispatch

import (
	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/opwebhook"
	"github.com/hookline/hookline/internal/store"
)

// note is what the operator is to hear of a result: the events, by type,
// with what the result itself does not hold.
type note struct {
	types       []string
	msgEventID  string
	endpoint    *hookline.Endpoint
	disabledFor bool // the endpoint is disabled by this result
}

// noteEvents notes the state changes of a delivery that the operator hears
// of, to be told once its result is written (see flush). Only a change
// makes a note: the attempts of a healthy endpoint cost a few comparisons.
func (d *Dispatcher) noteEvents(t *store.Task, res *store.Result) {
	if res.Attempt == nil || t.Delivery.AppID == opwebhook.AppID {
		return
	}
	dl := &res.Delivery
	var types []string
	switch {
	case dl.Status == hookline.StatusSuccess && dl.Attempts > opwebhook.FailingAfter:
		types = append(types, opwebhook.MessageAttemptRecovered)
	case dl.Status == hookline.StatusFail:
		types = append(types, opwebhook.MessageAttemptExhausted)
	case dl.Status == hookline.StatusPending && dl.Attempts == opwebhook.FailingAfter:
		types = append(types, opwebhook.MessageAttemptFailing)
	}
	if len(types) == 0 && res.DisableEndpoint == "" {
		return
	}
	n := note{types: types, msgEventID: t.Message.EventID, endpoint: t.Endpoint, disabledFor: res.DisableEndpoint != ""}
	d.mu.Lock()
	d.notes[dl.ID] = n
	d.mu.Unlock()
}

// tell hands the operator the events of the written results that have
// notes. d.mu is held.
func (d *Dispatcher) tell(batch []store.Result) []opwebhook.Event {
	var evs []opwebhook.Event
	for i := range batch {
		r := &batch[i]
		n, ok := d.notes[r.Delivery.ID]
		if !ok {
			continue
		}
		delete(d.notes, r.Delivery.ID)
		for _, typ := range n.types {
			evs = append(evs, opwebhook.Attempt(typ, n.msgEventID, r.Attempt))
		}
		if n.disabledFor {
			ep := *n.endpoint
			if ep.FailingSince == nil {
				// Disabled at its first failure (410 Gone): failing since
				// this attempt.
				at := r.Attempt.CreatedAt
				ep.FailingSince = &at
			}
			evs = append(evs, opwebhook.EndpointDisabledBy(&ep, false))
		}
	}
	return evs
}
