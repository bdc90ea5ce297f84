package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookline/hookline"
)

// Brand is how the portal presents itself: the name, logo and primary
// colour of the product that embeds it, and a fixed light or dark theme.
// The server's flags set it for every app; an app's metadata may set its
// own (see the Meta* keys).
type Brand struct {
	// Name is shown at the top of every page; empty shows the app's name.
	Name string
	// LogoURL is an absolute http(s) URL of an image shown before the name.
	LogoURL string
	// Color is the primary colour, #rrggbb; empty keeps hookline's blue.
	Color string
	// Theme is "light" or "dark"; empty follows the visitor's system.
	Theme string
}

// The app metadata keys that set an app's own brand.
const (
	MetaName  = "portal.name"
	MetaLogo  = "portal.logoUrl"
	MetaColor = "portal.color"
	MetaTheme = "portal.theme"
)

// Validate says what is wrong with a brand, naming the flags.
func (b Brand) Validate() error {
	if b.Color != "" && !validColor(b.Color) {
		return fmt.Errorf("--portal-color %q: want a colour such as #1f5fbf", b.Color)
	}
	if b.LogoURL != "" && !validLogo(b.LogoURL) {
		return fmt.Errorf("--portal-logo-url %q: want an absolute http(s) URL of an image", b.LogoURL)
	}
	if b.Theme != "" && b.Theme != "light" && b.Theme != "dark" {
		return fmt.Errorf("--portal-theme %q: want light, dark, or nothing to follow the visitor's system", b.Theme)
	}
	if len(b.Name) > 100 {
		return fmt.Errorf("--portal-name: use at most 100 characters")
	}
	return nil
}

func validColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	_, err := strconv.ParseUint(c[1:], 16, 32)
	return err == nil
}

func validLogo(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.User == nil
}

// forApp returns the brand with the app's own settings, where valid, in
// place of the installation's.
func (b Brand) forApp(a *hookline.App) Brand {
	if a == nil {
		return b
	}
	if v := strings.TrimSpace(a.Metadata[MetaName]); v != "" && len(v) <= 100 {
		b.Name = v
	}
	if v := strings.TrimSpace(a.Metadata[MetaLogo]); validLogo(v) {
		b.LogoURL = v
	}
	if v := strings.ToLower(strings.TrimSpace(a.Metadata[MetaColor])); validColor(v) {
		b.Color = v
	}
	switch v := a.Metadata[MetaTheme]; v {
	case "light", "dark":
		b.Theme = v
	case "auto":
		b.Theme = ""
	}
	return b
}

// brandView is the brand as a page uses it.
type brandView struct {
	Name    string
	LogoURL string
	Theme   string
	// CSS is the URL of the stylesheet of the colour; "" for none.
	CSS string
	// logoOrigin is what the page's CSP must allow images from.
	logoOrigin string
}

func (b Brand) view() brandView {
	v := brandView{Name: b.Name, LogoURL: b.LogoURL, Theme: b.Theme}
	if b.Color != "" {
		v.CSS = "/portal/brand.css?color=" + strings.TrimPrefix(strings.ToLower(b.Color), "#")
	}
	if u, err := url.Parse(b.LogoURL); err == nil && b.LogoURL != "" {
		v.logoOrigin = u.Scheme + "://" + u.Host
	}
	return v
}

// The backgrounds of the light and the dark theme, which text in the
// primary colour must stand out from.
const (
	lightBG = 0xffffff
	darkBG  = 0x15181c
)

// brandCSS serves the stylesheet of a primary colour: the colour itself
// where it is readable, else the nearest shade that is, for each theme.
// Its URL names the colour, so it is cached for good.
func (s *server) brandCSS(w http.ResponseWriter, r *http.Request) {
	c := "#" + strings.ToLower(r.URL.Query().Get("color"))
	if !validColor(c) {
		http.NotFound(w, r)
		return
	}
	n, _ := strconv.ParseUint(c[1:], 16, 32)
	light := readable(uint32(n), lightBG, false)
	dark := readable(uint32(n), darkBG, true)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	fmt.Fprintf(w, ":root { --accent: %s; --accent-fg: %s; }\n", cssColor(light), cssColor(onColor(light)))
	fmt.Fprintf(w, "@media (prefers-color-scheme: dark) { :root:not([data-theme=light]) { --accent: %s; --accent-fg: %s; } }\n", cssColor(dark), cssColor(onColor(dark)))
	fmt.Fprintf(w, ":root[data-theme=dark] { --accent: %s; --accent-fg: %s; }\n", cssColor(dark), cssColor(onColor(dark)))
}

func cssColor(c uint32) string { return fmt.Sprintf("#%06x", c) }

// minContrast is WCAG's AA contrast for text.
const minContrast = 4.5

// readable returns c, or c mixed toward white (lighten) or black until its
// contrast with bg reaches minContrast.
func readable(c, bg uint32, lighten bool) uint32 {
	target := uint32(0x000000)
	if lighten {
		target = 0xffffff
	}
	for i := 0; i <= 20; i++ {
		m := mix(c, target, float64(i)/20)
		if contrast(m, bg) >= minContrast {
			return m
		}
	}
	return target
}

// onColor is the text colour, black or white, that reads best on c.
func onColor(c uint32) uint32 {
	if contrast(c, 0xffffff) >= contrast(c, 0x000000) {
		return 0xffffff
	}
	return 0x000000
}

func mix(a, b uint32, t float64) uint32 {
	ch := func(x uint32, shift uint) float64 { return float64((x >> shift) & 0xff) }
	var out uint32
	for _, shift := range []uint{16, 8, 0} {
		v := ch(a, shift)*(1-t) + ch(b, shift)*t
		out |= uint32(math.Round(v)) << shift
	}
	return out
}

// contrast is WCAG's contrast ratio of two colours.
func contrast(a, b uint32) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is WCAG's relative luminance of a colour.
func luminance(c uint32) float64 {
	lin := func(v uint32) float64 {
		s := float64(v&0xff) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c>>16) + 0.7152*lin(c>>8) + 0.0722*lin(c)
}
