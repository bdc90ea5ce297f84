package hookline

import "time"

// App is an application: one customer of the sender, owning endpoints and
// the messages sent to them.
type App struct {
	ID   string
	UID  string // optional caller-chosen identifier, usable in place of ID
	Name string
	// RateLimit, when set, caps deliveries per second to each of the app's
	// endpoints that set no limit of their own (Svix's throttleRate).
	RateLimit *int
	Metadata  map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks the fields a caller sets.
func (a *App) Validate() error {
	var v ValidationError
	if a.Name == "" {
		v.add("name", "field required")
	}
	validUID(&v, a.UID)
	if IsID(PrefixApp, a.UID) {
		// A path names an app by ID or uid: a uid that is another app's ID
		// would make one path name two apps, and an app-scoped token
		// reach the wrong one.
		v.add("uid", "must not have the form of an application ID")
	}
	validRate(&v, "rateLimit", a.RateLimit)
	return v.err()
}

func validRate(v *ValidationError, field string, r *int) {
	if r != nil && (*r < 1 || *r > 65535) {
		v.add(field, "must be between 1 and 65535 per second")
	}
}
