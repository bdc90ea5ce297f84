package sqlite

import (
	"strings"
	"testing"
)

// TestTokenLookupsUseIndexes checks that the lookups a request or an
// expire-all makes find their rows through an index, not a scan of every
// token.
func TestTokenLookupsUseIndexes(t *testing.T) {
	s := emptyStore(t)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"by hash":       {`SELECT ` + tokenCols + ` FROM tokens WHERE hash = ?`, []any{[]byte("h")}},
		"login code":    {`SELECT token_id FROM login_codes WHERE hash = ? AND expires_at > ?`, []any{[]byte("h"), 0}},
		"prune expired": {`SELECT id FROM tokens WHERE expires_at < ?`, []any{0}},
		"prune revoked": {`SELECT id FROM tokens WHERE revoked_at < ?`, []any{0}},
		"expire app":    {`SELECT id FROM tokens WHERE app_id = ? AND scope = 'app' AND revoked_at IS NULL`, []any{"app_x"}},
	} {
		plan := explain(t, s, q.sql, q.args)
		if !strings.Contains(plan, "USING INDEX") && !strings.Contains(plan, "USING PRIMARY KEY") {
			t.Errorf("%s: the plan scans:\n%s", name, plan)
		}
	}
}
