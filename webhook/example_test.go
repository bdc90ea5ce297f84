package webhook_test

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookline/hookline/webhook"
)

func ExampleVerify() {
	// The receiver's copy of the endpoint's secret.
	key, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}

	// A delivery as hookline sends it.
	body := []byte(`{"test": 2432232314}`)
	sent := time.Unix(1614265330, 0)
	h := http.Header{}
	h.Set(webhook.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(sent.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.SignatureHeader([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, body))
	fmt.Println(h.Get(webhook.HeaderSignature))

	// A handler passes time.Now(); the example pins the clock.
	now := sent.Add(30 * time.Second)
	fmt.Println(webhook.Verify([][]byte{key}, h, body, now, webhook.DefaultTolerance))

	// The same request replayed an hour later is refused.
	fmt.Println(webhook.Verify([][]byte{key}, h, body, sent.Add(time.Hour), webhook.DefaultTolerance))
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// <nil>
	// verify webhook: webhook timestamp too old: 2021-02-25T15:02:10Z is more than 5m0s before now
}
