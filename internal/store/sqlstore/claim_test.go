package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline"
)

func TestClaimedIDs(t *testing.T) {
	dels := []hookline.Delivery{
		{MessageID: "msg_1", EndpointID: "ep_a"}, {MessageID: "msg_1", EndpointID: "ep_b"},
		{MessageID: "msg_2", EndpointID: "ep_a"}, {MessageID: "msg_1", EndpointID: "ep_c"},
	}
	msgs, eps := ClaimedIDs(dels)
	if diff := cmp.Diff([]string{"msg_1", "msg_2"}, msgs); diff != "" {
		t.Errorf("message IDs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ep_a", "ep_b", "ep_c"}, eps); diff != "" {
		t.Errorf("endpoint IDs (-want +got):\n%s", diff)
	}
}
