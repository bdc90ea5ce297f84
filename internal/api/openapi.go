package api

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of this API, served at
// /api/v1/openapi.json. It is written by hand, reviewed like code, and
// kept true by TestOpenAPIRoutes (every route in it, and only those) and
// TestOpenAPIConformance (requests and answers of every route match it).
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI document. Like Svix's own, it needs no
// token: it describes the API, not anyone's data.
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDocument)
	return nil
}
