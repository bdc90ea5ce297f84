package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookline/hookline"
)

// storedSecret is the JSON form of a hookline.Secret in the secrets column,
// the same in every dialect.
type storedSecret struct {
	Key       string `json:"key"`
	ExpiresAt *int64 `json:"expiresAt,omitempty"`
}

// SecretsText encodes an endpoint's secrets for its secrets column.
func SecretsText(secrets []hookline.Secret) string {
	out := make([]storedSecret, len(secrets))
	for i, sec := range secrets {
		out[i].Key = base64.StdEncoding.EncodeToString(sec.Key)
		if sec.ExpiresAt != nil {
			us := sec.ExpiresAt.UnixMicro()
			out[i].ExpiresAt = &us
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("encode secrets: %v", err)) // strings and integers always encode
	}
	return string(b)
}

// ParseSecrets decodes a secrets column.
func ParseSecrets[S ~string | ~[]byte](s S) ([]hookline.Secret, error) {
	stored, err := ParseJSON[[]storedSecret](s)
	if err != nil {
		return nil, err
	}
	out := make([]hookline.Secret, len(stored))
	for i, st := range stored {
		if out[i].Key, err = base64.StdEncoding.DecodeString(st.Key); err != nil {
			return nil, err
		}
		if st.ExpiresAt != nil {
			t := time.UnixMicro(*st.ExpiresAt).UTC()
			out[i].ExpiresAt = &t
		}
	}
	return out, nil
}
