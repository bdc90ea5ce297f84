package sqlstore

import "github.com/hookline/hookline"

// ClaimedIDs returns the distinct message and endpoint IDs of claimed
// deliveries, in the order they first appear, for the two lookups that
// complete a claim's tasks. A message fanned out to many endpoints has
// many deliveries in one claim; its ID is looked up once.
func ClaimedIDs(dels []hookline.Delivery) (msgIDs, epIDs []string) {
	msgIDs, epIDs = make([]string, 0, len(dels)), make([]string, 0, 8)
	seenMsg, seenEp := map[string]bool{}, map[string]bool{}
	for _, d := range dels {
		if !seenMsg[d.MessageID] {
			seenMsg[d.MessageID] = true
			msgIDs = append(msgIDs, d.MessageID)
		}
		if !seenEp[d.EndpointID] {
			seenEp[d.EndpointID] = true
			epIDs = append(epIDs, d.EndpointID)
		}
	}
	return msgIDs, epIDs
}
