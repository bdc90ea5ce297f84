package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hookline/hookline"
)

func TestBrand(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Brand = Brand{Name: "Acme Cloud", LogoURL: "https://cdn.example.com/logo.svg", Color: "#ffd400"}
	})
	b := e.browser()
	b.login(e.portalLink(nil))
	p := b.get("/portal/endpoints").want(http.StatusOK)
	p.hasText(`[data-test-id=brand]`, "Acme Cloud")
	if src := p.attr(`img.logo`, "src"); src != "https://cdn.example.com/logo.svg" {
		t.Errorf("logo %q", src)
	}
	if csp := p.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://cdn.example.com;") {
		t.Errorf("the CSP does not allow the logo: %s", csp)
	}
	css := brandLink(p)

	// A yellow that white text cannot be read on is darkened for the light
	// theme and kept for the dark one.
	resp, err := http.Get(e.srv.URL + css)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("%s: %d %v", css, resp.StatusCode, resp.Header)
	}
	light := between(string(body), ":root { --accent: ", ";")
	dark := between(string(body), ":root[data-theme=dark] { --accent: ", ";")
	if c := contrast(parse(t, light), lightBG); c < minContrast {
		t.Errorf("light accent %s has contrast %.2f with the background", light, c)
	}
	if dark != "#ffd400" {
		t.Errorf("dark accent %s, want the colour as given", dark)
	}
	if resp, _ := http.Get(e.srv.URL + "/portal/brand.css?color=red;}"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a colour that is none: %d", resp.StatusCode)
	}

	// An app's metadata overrides the installation's, and fixes a theme;
	// invalid values are ignored.
	e.api("PATCH", "/api/v1/app/"+e.appID, map[string]any{"metadata": map[string]string{
		MetaName: "Globex", MetaColor: "#0a7d33", MetaTheme: "dark", MetaLogo: "javascript:alert(1)"}}, nil, http.StatusOK)
	p = b.get("/portal/endpoints").want(http.StatusOK)
	p.hasText(`[data-test-id=brand]`, "Globex")
	if theme := p.attr(`html`, "data-theme"); theme != "dark" {
		t.Errorf("theme %q", theme)
	}
	if css := brandLink(p); css != "/portal/brand.css?color=0a7d33" {
		t.Errorf("brand CSS %q", css)
	}
	if src := p.attr(`img.logo`, "src"); src != "https://cdn.example.com/logo.svg" {
		t.Errorf("an invalid logo in metadata replaced the installation's: %q", src)
	}
}

func TestBrandValidate(t *testing.T) {
	for _, b := range []Brand{{Color: "blue"}, {Color: "#12345"}, {LogoURL: "/logo.png"}, {LogoURL: "ftp://x/y.png"}, {Theme: "sepia"}} {
		if err := b.Validate(); err == nil {
			t.Errorf("%+v: no error", b)
		}
		if _, err := New(Options{Brand: b}); err == nil {
			t.Errorf("New with %+v: no error", b)
		}
	}
	if err := (Brand{Name: "x", Color: "#1F5FBF", LogoURL: "https://x.example/l.png", Theme: "light"}).Validate(); err != nil {
		t.Error(err)
	}
	if got := (Brand{}).forApp(&hookline.App{Metadata: map[string]string{MetaTheme: "auto"}}).Theme; got != "" {
		t.Errorf("auto theme %q", got)
	}
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return v
}

func parse(t *testing.T, c string) uint32 {
	n, err := strconv.ParseUint(strings.TrimPrefix(c, "#"), 16, 32)
	if err != nil {
		t.Fatalf("colour %q: %v", c, err)
	}
	return uint32(n)
}

// brandLink is the href of the page's brand stylesheet, "" for none.
func brandLink(p *htmlPage) string {
	for _, n := range p.all(`link`) {
		if h, _ := attr(n, "href"); strings.HasPrefix(h, "/portal/brand.css") {
			return h
		}
	}
	return ""
}
