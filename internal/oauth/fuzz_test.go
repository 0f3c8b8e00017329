package oauth

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; run a target with
//
//	go test -run x -fuzz FuzzParseAuthorizeRequest -fuzztime 5s ./internal/oauth/

// FuzzParseAuthorizeRequest checks the invariants of ParseAuthorizeRequest
// on arbitrary query strings.
func FuzzParseAuthorizeRequest(f *testing.F) {
	f.Add("client_id=app&response_type=code&code_challenge=" + rfcChallenge + "&code_challenge_method=S256")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // keeps what it could parse
		requireNoEcho(t, q, raw, func(q url.Values) error { _, err := ParseAuthorizeRequest(q); return err })
		req, err := ParseAuthorizeRequest(q)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code == "" {
				t.Fatalf("error %#v is not an *Error with a code", err)
			}
		}
		if req == nil {
			if err == nil {
				t.Fatal("nil request without error")
			}
			return
		}
		// A usable request always has exactly one clean client_id.
		if req.ClientID == "" || !utf8.ValidString(req.ClientID) || hasControl(req.ClientID) || len(q["client_id"]) != 1 {
			t.Fatalf("req.ClientID = %q from %q, want one non-empty clean value", req.ClientID, q["client_id"])
		}
		if len(q["redirect_uri"]) > 1 || strings.Contains(req.RedirectURI, "#") {
			t.Fatalf("req.RedirectURI = %q from %q", req.RedirectURI, q["redirect_uri"])
		}
		switch req.ResponseMode {
		case ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost:
		default:
			t.Fatalf("req.ResponseMode = %q", req.ResponseMode)
		}
		if err != nil {
			return
		}
		if req.ResponseType != ResponseTypeCode {
			t.Fatalf("accepted response_type %q", req.ResponseType)
		}
		if req.CodeChallengeMethod != "" && req.CodeChallengeMethod != MethodS256 {
			t.Fatalf("accepted code_challenge_method %q", req.CodeChallengeMethod)
		}
		if (req.CodeChallenge == "") != (req.CodeChallengeMethod == "") {
			t.Fatalf("challenge %q with method %q", req.CodeChallenge, req.CodeChallengeMethod)
		}
		if req.CodeChallenge != "" && !ValidCodeChallenge(req.CodeChallenge) {
			t.Fatalf("accepted invalid code_challenge %q", req.CodeChallenge)
		}
		if len(req.Prompt) > 1 && req.HasPrompt(PromptNone) {
			t.Fatalf("accepted prompt %q", req.Prompt)
		}
		if req.MaxAge < -1 || req.MaxAge > MaxMaxAge {
			t.Fatalf("MaxAge = %d", req.MaxAge)
		}
		got, err := ParseAuthorizeRequest(req.Query())
		if err != nil || !reflect.DeepEqual(got, req) {
			t.Fatalf("round trip of %+v: got %+v, %v", req, got, err)
		}
	})
}

// echoMarker is a parameter name no description may contain: request
// input never reaches error_description (issue 11 item 10).
const echoMarker = "Xq7echoMarker"

// requireNoEcho adds an unknown parameter named echoMarker, with value v,
// to a copy of q and checks that parse's error, if any, does not name it.
func requireNoEcho(t *testing.T, q url.Values, v string, parse func(url.Values) error) {
	t.Helper()
	q2 := make(url.Values, len(q)+1)
	for k, vs := range q {
		q2[k] = vs
	}
	q2[echoMarker] = []string{v}
	if err := parse(q2); err != nil && strings.Contains(err.(*Error).Description, echoMarker) {
		t.Fatalf("description %q echoes a parameter name from the request", err.(*Error).Description)
	}
}

// FuzzParseTokenRequest checks the invariants of ParseTokenRequest on an
// arbitrary Authorization header and body.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add(basic("app", "s"), "grant_type=authorization_code&code=C&code_verifier="+rfcVerifier)
	f.Fuzz(func(t *testing.T, authorization, body string) {
		form, _ := url.ParseQuery(body)
		requireNoEcho(t, form, body, func(q url.Values) error { _, err := ParseTokenRequest(authorization, q); return err })
		req, err := ParseTokenRequest(authorization, form)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || req != nil {
				t.Fatalf("ParseTokenRequest = %+v, %#v; want nil, *Error", req, err)
			}
			switch e.Code {
			case InvalidRequest, InvalidClient, UnsupportedGrantType, InvalidScope, InvalidTarget:
			default:
				t.Fatalf("unexpected error code %q", e.Code)
			}
			return
		}
		for _, name := range []string{"grant_type", "client_id", "client_secret", "code", "code_verifier", "redirect_uri", "refresh_token", "scope"} {
			if len(form[name]) > 1 {
				t.Fatalf("accepted repeated %s: %q", name, form[name])
			}
		}
		c := req.Client
		if c.ID == "" || !utf8.ValidString(c.ID) || !utf8.ValidString(c.Secret) || hasControl(c.ID) {
			t.Fatalf("client %+v", c)
		}
		switch c.Method {
		case AuthNone:
			if c.Secret != "" {
				t.Fatalf("AuthNone with secret: %+v", c)
			}
		case AuthClientSecretBasic:
			if authorization == "" || c.Secret == "" || form.Get("client_secret") != "" {
				t.Fatalf("basic client %+v from header %q and form %v", c, authorization, form)
			}
		case AuthClientSecretPost:
			if authorization != "" || c.Secret != form.Get("client_secret") || c.ID != form.Get("client_id") {
				t.Fatalf("post client %+v from header %q and form %v", c, authorization, form)
			}
		default:
			t.Fatalf("method %q", c.Method)
		}
		if authorization != "" && form.Get("client_secret") != "" {
			t.Fatal("accepted two authentication methods")
		}
		switch req.GrantType {
		case GrantAuthorizationCode:
			if req.Code == "" || req.Scopes != nil {
				t.Fatalf("code grant %+v", req)
			}
		case GrantRefreshToken:
			if req.RefreshToken == "" {
				t.Fatalf("refresh grant %+v", req)
			}
		case GrantClientCredentials:
		default:
			t.Fatalf("grant type %q", req.GrantType)
		}
		for _, r := range req.Resources {
			if !validResource(r) {
				t.Fatalf("accepted resource %q", r)
			}
		}
	})
}

// FuzzParseRevocationRequest checks the invariants of
// ParseRevocationRequest (and ParseIntrospectionRequest, the same rules)
// on an arbitrary Authorization header and body.
func FuzzParseRevocationRequest(f *testing.F) {
	f.Add(basic("api", "s"), "token=T&token_type_hint=refresh_token")
	f.Add("", "client_id=spa&token=T")
	f.Add("", "token=T")
	f.Fuzz(func(t *testing.T, authorization, body string) {
		form, _ := url.ParseQuery(body)
		requireNoEcho(t, form, body, func(q url.Values) error { _, err := ParseRevocationRequest(authorization, q); return err })
		req, err := ParseRevocationRequest(authorization, form)
		in, ierr := ParseIntrospectionRequest(authorization, form)
		if (err == nil) != (ierr == nil) || err == nil && (in.Client != req.Client || in.Token != req.Token || in.TokenTypeHint != req.TokenTypeHint) {
			t.Fatalf("revocation %+v, %v and introspection %+v, %v parse the same input differently", req, err, in, ierr)
		}
		if err != nil {
			e, ok := err.(*Error)
			if !ok || req != nil {
				t.Fatalf("ParseRevocationRequest = %+v, %#v; want nil, *Error", req, err)
			}
			switch e.Code {
			case InvalidRequest, InvalidClient:
			default:
				t.Fatalf("unexpected error code %q", e.Code)
			}
			return
		}
		if authorization == "" && len(form["client_id"]) == 0 {
			t.Fatal("accepted a request without client authentication")
		}
		for _, name := range []string{"token", "token_type_hint", "client_id", "client_secret"} {
			if len(form[name]) > 1 {
				t.Fatalf("accepted repeated %s: %q", name, form[name])
			}
		}
		if req.Token != form.Get("token") || string(req.TokenTypeHint) != form.Get("token_type_hint") {
			t.Fatalf("token %q hint %q from form %v", req.Token, req.TokenTypeHint, form)
		}
		if c := req.Client; c.ID == "" || !utf8.ValidString(c.ID) || hasControl(c.ID) || (c.Method == AuthNone) != (c.Secret == "") {
			t.Fatalf("client %+v", c)
		}
	})
}

// FuzzMatchRedirectURI checks that a match never lets the requested URI
// differ from the registered one in anything but a loopback port.
func FuzzMatchRedirectURI(f *testing.F) {
	f.Add("https://app.example/cb", "https://app.example/cb")
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1:8080/cb")
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if ValidateRegisteredRedirectURI(registered) == nil && !MatchRedirectURI(registered, registered) {
			t.Fatalf("valid registered URI %q does not match itself", registered)
		}
		if !MatchRedirectURI(registered, requested) {
			return
		}
		reg, err1 := url.Parse(registered)
		req, err2 := url.Parse(requested)
		if err1 != nil || err2 != nil {
			t.Fatalf("matched unparsable URIs %q, %q", registered, requested)
		}
		if req.User != nil || strings.Contains(requested, "#") {
			t.Fatalf("matched requested %q with userinfo or fragment", requested)
		}
		if reg.Scheme != req.Scheme || reg.Hostname() != req.Hostname() || reg.EscapedPath() != req.EscapedPath() ||
			reg.RawQuery != req.RawQuery || reg.Opaque != req.Opaque || reg.ForceQuery != req.ForceQuery {
			t.Fatalf("MatchRedirectURI(%q, %q) = true, but they differ beyond the port", registered, requested)
		}
		if registered != requested {
			if !strings.HasPrefix(registered, "http://127.0.0.1") && !strings.HasPrefix(registered, "http://[::1]") {
				t.Fatalf("MatchRedirectURI(%q, %q) = true for a non-loopback registration", registered, requested)
			}
			if strings.TrimPrefix(registered, "http://"+reg.Host) != strings.TrimPrefix(requested, "http://"+req.Host) {
				t.Fatalf("MatchRedirectURI(%q, %q) = true, but the raw strings differ beyond the authority", registered, requested)
			}
		}
	})
}

// FuzzParseScope checks that ParseScope returns clean, unique tokens that
// join back to the input.
func FuzzParseScope(f *testing.F) {
	f.Add("openid profile email")
	f.Fuzz(func(t *testing.T, s string) {
		scopes, err := ParseScope(s)
		if err != nil {
			if e, ok := As(err); !ok || e.Code != InvalidScope || scopes != nil {
				t.Fatalf("ParseScope(%q) = %q, %v; want nil, invalid_scope", s, scopes, err)
			}
			return
		}
		if s == "" {
			if scopes != nil {
				t.Fatalf("ParseScope(\"\") = %q, want nil", scopes)
			}
			return
		}
		if len(scopes) == 0 {
			t.Fatalf("ParseScope(%q) = empty, want tokens", s)
		}
		for i, sc := range scopes {
			if sc == "" || slices.Contains(scopes[:i], sc) {
				t.Fatalf("ParseScope(%q) = %q: empty or duplicate token", s, scopes)
			}
			for j := 0; j < len(sc); j++ {
				if !isScopeChar(sc[j]) {
					t.Fatalf("ParseScope(%q) = %q: bad character %q", s, scopes, sc[j])
				}
			}
		}
		again, err := ParseScope(JoinScope(scopes))
		if err != nil || !reflect.DeepEqual(again, scopes) {
			t.Fatalf("ParseScope(JoinScope(%q)) = %q, %v", scopes, again, err)
		}
		if len(strings.Split(s, " ")) == len(scopes) && JoinScope(scopes) != s {
			t.Fatalf("JoinScope(ParseScope(%q)) = %q", s, JoinScope(scopes))
		}
	})
}
