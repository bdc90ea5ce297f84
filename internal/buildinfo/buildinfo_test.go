package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name    string
		bi      *debug.BuildInfo
		str, ua string
	}{
		{name: "none", bi: nil, str: "devel", ua: "hookline/devel"},
		{name: "checkout without vcs", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			str: "devel", ua: "hookline/devel"},
		{name: "release", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "false"}}},
			str: "v1.4.0 (revision 0123456789ab)", ua: "hookline/v1.4.0 rev/0123456789ab"},
		{name: "modified checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "fedcba9876543210"}, {Key: "vcs.modified", Value: "true"}}},
			str: "devel (revision fedcba987654, modified)", ua: "hookline/devel rev/fedcba987654+modified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := fromBuildInfo(tc.bi)
			if got := info.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if got := info.UserAgent(); got != tc.ua {
				t.Errorf("UserAgent() = %q, want %q", got, tc.ua)
			}
		})
	}
}

func TestVersionFlagWins(t *testing.T) {
	old := version
	version = "v9.9.9"
	t.Cleanup(func() { version = old })
	info := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	if info.Version != "v9.9.9" {
		t.Errorf("Version = %q, want the -X value", info.Version)
	}
}

// TestRead checks the running test binary's own information reads
// without a panic and names a version.
func TestRead(t *testing.T) {
	if v := Read().Version; v == "" {
		t.Error("empty version")
	}
	if ua := UserAgent(); len(ua) < len("hookline/") || ua[:9] != "hookline/" {
		t.Errorf("UserAgent() = %q", ua)
	}
}
