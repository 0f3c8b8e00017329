package oauth

import (
	"net/url"
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	tests := []struct {
		registered, requested string
		want                  bool
	}{
		// Exact matches.
		{"https://app.example/cb", "https://app.example/cb", true},
		{"https://app.example/cb?x=1&y=2", "https://app.example/cb?x=1&y=2", true},
		{"com.example.app:/oauth2redirect", "com.example.app:/oauth2redirect", true},
		{"https://app.example:8443/cb", "https://app.example:8443/cb", true},

		// Prefix and suffix attacks.
		{"https://app.example/cb", "https://app.example/cb/evil", false},
		{"https://app.example/cb", "https://app.example/cbevil", false},
		{"https://app.example/cb", "https://app.example/cb/", false},
		{"https://app.example/cb/", "https://app.example/cb", false},
		{"https://app.example", "https://app.example.evil.com", false},
		{"https://app.example/cb", "https://app.example.evil.com/cb", false},
		{"https://app.example/cb", "https://evil.com/https://app.example/cb", false},
		{"https://app.example/cb", "https://app.example/cb?", false},
		{"https://app.example/cb", "https://app.example/cb?next=https://evil.com", false},
		{"https://app.example/cb?x=1", "https://app.example/cb?x=1&x=2", false},
		{"https://app.example/cb?x=1", "https://app.example/cb", false},

		// Userinfo and fragments are never accepted in the requested URI.
		{"https://app.example/cb", "https://app.example@evil.com/cb", false},
		{"https://app.example/cb", "https://user:pw@app.example/cb", false},
		{"https://user@app.example/cb", "https://user@app.example/cb", false},
		{"https://app.example/cb", "https://app.example/cb#", false},
		{"https://app.example/cb", "https://app.example/cb#frag", false},
		{"https://app.example/cb#frag", "https://app.example/cb#frag", false},

		// No normalisation: case, encoding, dot segments, default ports.
		{"https://app.example/cb", "https://APP.example/cb", false},
		{"https://app.example/cb", "HTTPS://app.example/cb", false},
		{"https://app.example/cb", "https://app.example/CB", false},
		{"https://app.example/cb", "https://app.example/%63b", false},
		{"https://app.example/a/cb", "https://app.example/a/%2e%2e/cb", false},
		{"https://app.example/a/cb", "https://app.example/a%2Fcb", false},
		{"https://app.example/cb", "https://app.example/cb/../evil", false},
		{"https://app.example/cb", "https://app.example/x/../cb", false},
		{"https://app.example/cb", "https://app.example/./cb", false},
		{"https://app.example/cb", "https://app.example:443/cb", false},
		{"https://app.example/cb", "https://app.example./cb", false},
		{"https://app.example/cb", "https://app.example/cb%00", false},
		{"https://app.example/cb", "https://app.example\\@evil.com/cb", false},
		{"https://app.example/cb", "https://app.example/cb\\..\\evil", false},
		{"https://app.example/cb", " https://app.example/cb", false},
		{"https://app.example/cb", "https://app.example/cb ", false},

		// Scheme changes.
		{"https://app.example/cb", "http://app.example/cb", false},
		{"http://127.0.0.1/cb", "https://127.0.0.1/cb", false},
		{"http://127.0.0.1/cb", "https://127.0.0.1:8080/cb", false},

		// RFC 8252 §7.3: loopback IP literal, any port.
		{"http://127.0.0.1/cb", "http://127.0.0.1:51004/cb", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb", true},
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1", "http://127.0.0.1:5000", true},
		{"http://127.0.0.1/cb?x=1", "http://127.0.0.1:5000/cb?x=1", true},
		{"http://[::1]/cb", "http://[::1]:8080/cb", true},
		{"http://[::1]:1/cb", "http://[::1]:65535/cb", true},
		// ... but only the port may differ.
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb/evil", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/CB", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb?x=1", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb#x", false},
		{"http://127.0.0.1/cb", "http://[::1]:8080/cb", false},
		{"http://[::1]/cb", "http://127.0.0.1:8080/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.2:8080/cb", false},
		{"http://127.0.0.1/cb", "http://127.1:8080/cb", false},
		{"http://127.0.0.1/cb", "http://0x7f.0.0.1:8080/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1.evil.com:8080/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080@evil.com/cb", false},
		{"http://127.0.0.1/cb", "http://user@127.0.0.1:8080/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:0/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:65536/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:08080/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:80a/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080\\evil.com/cb", false},
		{"http://127.0.0.1/cb", "http://[::ffff:127.0.0.1]:8080/cb", false},
		{"http://[::1]/cb", "http://[0:0:0:0:0:0:0:1]:8080/cb", false},
		{"http://[::1]/cb", "http://[::1%25lo]:8080/cb", false},
		{"http://127.0.0.1/cb", "HTTP://127.0.0.1:8080/cb", false},
		{"HTTP://127.0.0.1/cb", "HTTP://127.0.0.1:8080/cb", false},
		// localhost gets no port exception (RFC 8252 §8.3).
		{"http://localhost/cb", "http://localhost:8080/cb", false},
		{"http://localhost:8080/cb", "http://localhost:8080/cb", true},
		{"http://127.0.0.1/cb", "http://localhost:8080/cb", false},
		{"http://localhost/cb", "http://127.0.0.1:8080/cb", false},
		// The port rule is for http only: https loopback needs the exact port.
		{"https://127.0.0.1/cb", "https://127.0.0.1:8443/cb", false},
		{"https://[::1]:8443/cb", "https://[::1]:9443/cb", false},

		// Degenerate inputs.
		{"", "", false},
		{"https://app.example/cb", "", false},
		{"", "https://app.example/cb", false},
		{"/cb", "/cb", false},
		{"https://app.example/cb\n", "https://app.example/cb\n", false},
		{"https://[::1/cb", "https://[::1/cb", false},
	}
	for _, tt := range tests {
		if got := MatchRedirectURI(tt.registered, tt.requested); got != tt.want {
			t.Errorf("MatchRedirectURI(%q, %q) = %v, want %v", tt.registered, tt.requested, got, tt.want)
		}
	}
}

func TestValidateRegisteredRedirectURI(t *testing.T) {
	tests := []struct {
		uri     string
		wantErr string // "" for valid; else a substring of the error
	}{
		{"https://app.example/cb", ""},
		{"https://app.example:8443/cb?x=1", ""},
		{"https://app.example", ""},
		{"http://127.0.0.1/cb", ""},
		{"http://127.0.0.1:8080/cb", ""},
		{"http://127.1.2.3/cb", ""},
		{"http://[::1]/cb", ""},
		{"http://[::1]:8080/cb", ""},
		{"http://localhost:3000/cb", ""},
		{"com.example.app:/oauth2redirect", ""},
		{"com.example.app://cb", ""},

		{"", "empty"},
		{"/cb", "absolute"},
		{"//app.example/cb", "absolute"},
		{"app.example/cb", "absolute"},
		{"https://app.example/cb#frag", "fragment"},
		{"https://app.example/cb#", "fragment"},
		{"https://user@app.example/cb", "userinfo"},
		{"https://user:pw@app.example/cb", "userinfo"},
		{"http://app.example/cb", "loopback"},
		{"http://127.0.0.1.evil.com/cb", "loopback"},
		{"http://[::ffff:127.0.0.1]/cb", "loopback"},
		{"http://[fe80::1%25lo]/cb", "loopback"},
		{"http://[::1%25lo]/cb", "loopback"},
		{"http://10.0.0.1/cb", "loopback"},
		{"http:/cb", "loopback"},
		{"http:127.0.0.1", "loopback"},
		{"https:///cb", "host"},
		{"https:app.example", "host"},
		{"HTTPS://app.example/cb", "lower case"},
		{"Com.Example.App:/cb", "lower case"},
		{"javascript:alert(1)", "scheme"},
		{"data:text/html,x", "scheme"},
		{"file:///etc/passwd", "scheme"},
		{"myapp:/cb", "scheme"},
		{"ftp://app.example/cb", "scheme"},
		{"https://app.example/c b", "printable ASCII"},
		{"https://app.example/cb\n", "printable ASCII"},
		{"https://app.example/ü", "printable ASCII"},
		{"https://app.example/cb\x7f", "printable ASCII"},
		{"https://[::1/cb", "not a valid URI"},
		{"https://app.example:port/cb", "not a valid URI"},
		{"https://app.example/" + strings.Repeat("a", 2048), "2048"},
	}
	for _, tt := range tests {
		err := ValidateRegisteredRedirectURI(tt.uri)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateRegisteredRedirectURI(%q) = %v, want nil", tt.uri, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateRegisteredRedirectURI(%q) = %v, want error containing %q", tt.uri, err, tt.wantErr)
		}
		// A valid registered URI always matches itself.
		if err == nil && !MatchRedirectURI(tt.uri, tt.uri) {
			t.Errorf("MatchRedirectURI(%q, itself) = false, want true for a valid registration", tt.uri)
		}
	}
}

func TestCheckRedirect(t *testing.T) {
	const iss = "https://issuer.example"
	regs := []string{"https://app.example/cb", "http://127.0.0.1/native"}
	tests := []struct {
		name       string
		registered []string
		req        *AuthorizeRequest
		wantURI    string // "" means an error is expected
		wantMode   ResponseMode
	}{
		{"exact", regs, &AuthorizeRequest{RedirectURI: "https://app.example/cb", ResponseMode: ResponseModeQuery}, "https://app.example/cb", ResponseModeQuery},
		{"loopback port uses requested URI", regs, &AuthorizeRequest{RedirectURI: "http://127.0.0.1:4711/native", ResponseMode: ResponseModeFragment}, "http://127.0.0.1:4711/native", ResponseModeFragment},
		{"omitted with one registered", regs[:1], &AuthorizeRequest{ResponseMode: ResponseModeFormPost}, "https://app.example/cb", ResponseModeFormPost},
		{"empty mode defaults to query", regs, &AuthorizeRequest{RedirectURI: "https://app.example/cb"}, "https://app.example/cb", ResponseModeQuery},
		{"omitted with two registered", regs, &AuthorizeRequest{}, "", ""},
		{"omitted with none registered", nil, &AuthorizeRequest{}, "", ""},
		{"omitted with one empty registered", []string{""}, &AuthorizeRequest{}, "", ""},
		{"no match", regs, &AuthorizeRequest{RedirectURI: "https://app.example/cb/evil"}, "", ""},
		{"nothing registered", nil, &AuthorizeRequest{RedirectURI: "https://app.example/cb"}, "", ""},
		{"nil request", regs, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req != nil {
				tt.req.State = "st"
			}
			r, err := CheckRedirect(tt.registered, tt.req, iss)
			if tt.wantURI == "" {
				if err == nil || r != nil {
					t.Fatalf("CheckRedirect(%q, %+v) = %+v, %v; want nil, error", tt.registered, tt.req, r, err)
				}
				if e, ok := As(err); !ok || e.Code != InvalidRequest {
					t.Errorf("CheckRedirect error = %v, want *Error invalid_request", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckRedirect(%q, %+v) error = %v", tt.registered, tt.req, err)
			}
			if r.URI() != tt.wantURI || r.Mode() != tt.wantMode {
				t.Errorf("CheckRedirect = %q %q, want %q %q", r.URI(), r.Mode(), tt.wantURI, tt.wantMode)
			}
			p := r.Params(nil)
			if p.Get("state") != "st" || p.Get("iss") != iss {
				t.Errorf("Params(nil) = %v, want state=st iss=%s", p, iss)
			}
		})
	}
}

// newRedirect builds a Redirect through CheckRedirect, as callers must.
func newRedirect(t *testing.T, uri string, mode ResponseMode, state string) *Redirect {
	t.Helper()
	r, err := CheckRedirect([]string{uri}, &AuthorizeRequest{RedirectURI: uri, ResponseMode: mode, State: state}, "https://issuer.example")
	if err != nil {
		t.Fatalf("CheckRedirect(%q): %v", uri, err)
	}
	return r
}

func TestRedirectParams(t *testing.T) {
	r := newRedirect(t, "https://app.example/cb", ResponseModeQuery, "a b&c")
	got := r.Params(url.Values{"code": {"C"}, "state": {"forged"}, "iss": {"forged"}})
	want := url.Values{"code": {"C"}, "state": {"a b&c"}, "iss": {"https://issuer.example"}}
	if got.Encode() != want.Encode() {
		t.Errorf("Params = %v, want %v", got, want)
	}

	noState := newRedirect(t, "https://app.example/cb", ResponseModeQuery, "")
	if got := noState.Params(url.Values{"code": {"C"}}); got.Has("state") {
		t.Errorf("Params without state = %v, want no state parameter", got)
	}
}

func TestRedirectErrorParams(t *testing.T) {
	r := newRedirect(t, "https://app.example/cb", ResponseModeQuery, "xyz")
	tests := []struct {
		err  *Error
		want url.Values
	}{
		{Errorf(AccessDenied, "the user denied the request"), url.Values{
			"error": {"access_denied"}, "error_description": {"the user denied the request"},
			"state": {"xyz"}, "iss": {"https://issuer.example"},
		}},
		{&Error{Code: InvalidScope}, url.Values{"error": {"invalid_scope"}, "state": {"xyz"}, "iss": {"https://issuer.example"}}},
		{Errorf(InvalidRequest, "bad \"quote\" \\ é\n"), url.Values{
			"error": {"invalid_request"}, "error_description": {"bad ?quote? ? ??"},
			"state": {"xyz"}, "iss": {"https://issuer.example"},
		}},
		{nil, url.Values{"error": {"server_error"}, "state": {"xyz"}, "iss": {"https://issuer.example"}}},
	}
	for _, tt := range tests {
		if got := r.ErrorParams(tt.err); got.Encode() != tt.want.Encode() {
			t.Errorf("ErrorParams(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	// The cause (Err) never reaches the client.
	e := Errorf(ServerError, "internal error").WithCause(errSecret)
	if got := r.ErrorParams(e).Encode(); strings.Contains(got, "db password") {
		t.Errorf("ErrorParams leaked the cause: %s", got)
	}

	noState := newRedirect(t, "https://app.example/cb", ResponseModeQuery, "")
	if got := noState.ErrorParams(Errorf(AccessDenied, "")); got.Has("state") || got.Has("error_description") {
		t.Errorf("ErrorParams without state/description = %v, want neither", got)
	}
}

type secretErr struct{}

func (secretErr) Error() string { return "db password is hunter2" }

var errSecret error = secretErr{}

func TestRedirectLocation(t *testing.T) {
	params := url.Values{"code": {"C/+="}, "state": {"s t"}}
	const enc = "code=C%2F%2B%3D&state=s+t"
	tests := []struct {
		uri  string
		mode ResponseMode
		want string
	}{
		{"https://app.example/cb", ResponseModeQuery, "https://app.example/cb?" + enc},
		{"https://app.example/cb?x=1", ResponseModeQuery, "https://app.example/cb?x=1&" + enc},
		{"https://app.example/cb?x=%2F&y", ResponseModeQuery, "https://app.example/cb?x=%2F&y&" + enc},
		{"https://app.example/cb?", ResponseModeQuery, "https://app.example/cb?" + enc},
		{"https://app.example/cb?x=1&", ResponseModeQuery, "https://app.example/cb?x=1&" + enc},
		{"https://app.example/a%2Fb", ResponseModeQuery, "https://app.example/a%2Fb?" + enc},
		{"com.example.app:/cb", ResponseModeQuery, "com.example.app:/cb?" + enc},
		{"https://app.example/cb", ResponseModeFragment, "https://app.example/cb#" + enc},
		{"https://app.example/cb?x=1", ResponseModeFragment, "https://app.example/cb?x=1#" + enc},
	}
	for _, tt := range tests {
		r := newRedirect(t, tt.uri, tt.mode, "")
		got := r.Location(params)
		if got != tt.want {
			t.Errorf("Location(%q, %s) = %q, want %q", tt.uri, tt.mode, got, tt.want)
		}
		// The result parses back to the registered query plus params.
		u, err := url.Parse(got)
		if err != nil {
			t.Errorf("Location(%q) = %q does not parse: %v", tt.uri, got, err)
			continue
		}
		carrier := u.Query()
		if tt.mode == ResponseModeFragment {
			carrier, _ = url.ParseQuery(u.EscapedFragment())
		}
		if carrier.Get("code") != "C/+=" {
			t.Errorf("Location(%q, %s) carries code %q, want %q", tt.uri, tt.mode, carrier.Get("code"), "C/+=")
		}
	}
	if got := newRedirect(t, "https://app.example/cb?x=1", ResponseModeQuery, "").Location(nil); got != "https://app.example/cb?x=1" {
		t.Errorf("Location(nil) = %q, want the URI unchanged", got)
	}
}

func TestRedirectLocationFormPostPanics(t *testing.T) {
	r := newRedirect(t, "https://app.example/cb", ResponseModeFormPost, "")
	defer func() {
		if recover() == nil {
			t.Error("Location for form_post did not panic")
		}
	}()
	_ = r.Location(url.Values{"code": {"C"}})
}

func BenchmarkMatchRedirectURI(b *testing.B) {
	cases := [][2]string{
		{"https://app.example/callback", "https://app.example/callback"},
		{"https://app.example/callback", "https://app.example/callbackX"},
		{"http://127.0.0.1/callback", "http://127.0.0.1:51004/callback"},
	}
	for b.Loop() {
		for _, c := range cases {
			MatchRedirectURI(c[0], c[1])
		}
	}
}
