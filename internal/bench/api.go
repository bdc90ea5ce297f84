package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiClient makes the set-up calls of a run through hookline's public API,
// as any user would.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// createApp creates an app with the given uid and returns its ID.
func (c *apiClient) createApp(ctx context.Context, uid string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := c.call(ctx, http.MethodPost, "/api/v1/app", map[string]any{"name": "hookline bench " + uid, "uid": uid}, &out)
	return out.ID, err
}

// createEndpoint creates an endpoint subscribed to every event type.
func (c *apiClient) createEndpoint(ctx context.Context, appID, uid, target string) error {
	return c.call(ctx, http.MethodPost, "/api/v1/app/"+url.PathEscape(appID)+"/endpoint",
		map[string]any{"url": target, "uid": uid, "description": "hookline bench sink"}, nil)
}

// publishURL returns the URL messages of app are posted to.
func (c *apiClient) publishURL(appID string) string {
	return c.base + "/api/v1/app/" + url.PathEscape(appID) + "/msg"
}
