// Package buildinfo says which build of hookline is running: the module
// version and the VCS revision that Go records in every binary it builds.
// The version command and the User-Agent of deliveries both read it here,
// so they always agree.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// version, when set at build time with
// -ldflags "-X github.com/hookline/hookline/internal/buildinfo.version=v1.2.3",
// wins over the module version, which a build from a checkout does not
// know.
var version string

// Info is what a binary knows of its own build.
type Info struct {
	// Version is the module version (v1.2.3) when built with `go install
	// module@version`, else "devel".
	Version string
	// Revision is the VCS commit the binary was built from, "" when the
	// build recorded none (go build -buildvcs=false, or no checkout).
	Revision string
	// Modified reports uncommitted changes in the checkout at build time.
	Modified bool
	// Time is the commit's time, RFC 3339, "" when unknown.
	Time string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fromBuildInfo(nil)
	}
	return fromBuildInfo(bi)
}

// fromBuildInfo reads an Info out of bi, which may be nil.
func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "devel"}
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			case "vcs.time":
				info.Time = s.Value
			}
		}
	}
	if version != "" {
		info.Version = version
	}
	return info
}

// ShortRevision is the first 12 characters of the revision, "" when
// unknown.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String is the version with the revision, as `hookline version` prints
// it: "v1.2.3 (revision 0123456789ab, modified)".
func (i Info) String() string {
	var extra []string
	if r := i.ShortRevision(); r != "" {
		extra = append(extra, "revision "+r)
	}
	if i.Modified {
		extra = append(extra, "modified")
	}
	if len(extra) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(extra, ", ") + ")"
}

// UserAgent is the User-Agent product of this build, such as
// "hookline/v1.2.3 rev/0123456789ab": what deliveries carry, so that a
// receiver can tell which build sent them.
func UserAgent() string {
	return Read().UserAgent()
}

// UserAgent is the User-Agent product of the build i describes.
func (i Info) UserAgent() string {
	ua := "hookline/" + i.Version
	if r := i.ShortRevision(); r != "" {
		ua += " rev/" + r
		if i.Modified {
			ua += "+modified"
		}
	}
	return ua
}
