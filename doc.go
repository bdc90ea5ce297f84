// Package hookline holds the domain of the hookline webhook platform:
// applications, event types, endpoints, messages, deliveries and attempts,
// their prefixed sortable IDs, validation rules and error kinds.
//
// It does no I/O and imports only the standard library (and the ID
// generator); adapters such as the store, the REST API and the dispatcher
// translate between these types and the outside world.
package hookline
