package hookline

import (
	"encoding/json"
	"time"
)

// EventType names a kind of event that apps publish, such as
// "invoice.paid". Endpoints subscribe to event types by name.
type EventType struct {
	Name        string
	Description string
	Archived    bool
	Deprecated  bool
	FeatureFlag string
	// Schemas is the JSON object of schemas by version, kept as sent.
	Schemas   json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks the fields a caller sets.
func (e *EventType) Validate() error {
	var v ValidationError
	if msg := checkName(e.Name, maxName); msg != "" {
		v.add("name", msg)
	}
	if msg := checkName(e.FeatureFlag, maxName); e.FeatureFlag != "" && msg != "" {
		v.add("featureFlag", msg)
	}
	switch {
	case len(e.Schemas) == 0:
	case JSONDeeper(e.Schemas, MaxPayloadDepth):
		v.add("schemas", deepJSON)
	case e.Schemas[0] != '{' || !json.Valid(e.Schemas):
		v.add("schemas", "must be a JSON object")
	}
	return v.err()
}
