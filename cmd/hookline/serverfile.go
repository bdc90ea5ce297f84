package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hookline/hookline/internal/inbound"
)

// serverFile is the server's config file (--config): what only the
// operator may define, never the API.
type serverFile struct {
	// Commands are the programs that inbound command routes may run.
	Commands map[string]inbound.Command `json:"commands"`
}

// loadServerFile reads the config file at path; an empty path is an empty
// file.
func loadServerFile(path string) (*serverFile, error) {
	f := &serverFile{}
	if path == "" {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return nil, fmt.Errorf("--config %s: %w (see docs/inbound.md for the format)", path, err)
	}
	for name, c := range f.Commands {
		switch {
		case !validCommandName(name):
			return nil, fmt.Errorf("--config %s: command name %q: use letters, digits, '-', '_' or '.'", path, name)
		case c.Path == "":
			return nil, fmt.Errorf("--config %s: command %q has no path", path, name)
		case !filepath.IsAbs(c.Path):
			return nil, fmt.Errorf("--config %s: command %q: path %q must be absolute, so that what runs does not depend on $PATH", path, name, c.Path)
		case c.Concurrency < 0 || c.Retries < 0 || c.Timeout < 0:
			return nil, fmt.Errorf("--config %s: command %q: concurrency, retries and timeout must not be negative", path, name)
		}
	}
	return f, nil
}

func validCommandName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
