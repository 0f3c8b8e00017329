package oauth

import (
	"math/rand/v2"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// validAuthorizeQuery is a minimal valid authorization code + PKCE request.
func validAuthorizeQuery() url.Values {
	return url.Values{
		"client_id":             {"app"},
		"redirect_uri":          {"https://app.example/cb"},
		"response_type":         {"code"},
		"state":                 {"xyz"},
		"code_challenge":        {rfcChallenge},
		"code_challenge_method": {"S256"},
	}
}

func TestParseAuthorizeRequestValid(t *testing.T) {
	tests := []struct {
		name string
		mod  func(q url.Values)
		want AuthorizeRequest
	}{
		{
			name: "minimal",
			mod:  func(url.Values) {},
			want: AuthorizeRequest{
				ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code",
				ResponseMode: ResponseModeQuery, State: "xyz", CodeChallenge: rfcChallenge,
				CodeChallengeMethod: "S256", MaxAge: -1,
			},
		},
		{
			name: "everything",
			mod: func(q url.Values) {
				q.Set("response_mode", "form_post")
				q.Set("scope", "openid profile openid email")
				q.Set("nonce", "n-0S6_WzA2Mj")
				q.Set("prompt", "login consent login")
				q.Set("max_age", "0")
				q.Set("login_hint", "jöe@example.com")
				q["resource"] = []string{"https://api.example/", "urn:example:res"}
				q.Set("dpop_jkt", rfcChallenge)
				q.Set("unknown_param", "ignored")
				q.Set("ui_locales", "de-CH fr en")
			},
			want: AuthorizeRequest{
				ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code",
				ResponseMode: ResponseModeFormPost, State: "xyz", CodeChallenge: rfcChallenge,
				CodeChallengeMethod: "S256", MaxAge: 0,
				Scopes: []string{"openid", "profile", "email"}, Nonce: "n-0S6_WzA2Mj",
				Prompt: []string{"login", "consent"}, LoginHint: "jöe@example.com", UILocales: "de-CH fr en",
				Resources: []string{"https://api.example/", "urn:example:res"}, DPoPJKT: rfcChallenge,
			},
		},
		{
			name: "no PKCE, no redirect_uri, no state",
			mod: func(q url.Values) {
				q.Del("code_challenge")
				q.Del("code_challenge_method")
				q.Del("redirect_uri")
				q.Del("state")
			},
			want: AuthorizeRequest{ClientID: "app", ResponseType: "code", ResponseMode: ResponseModeQuery, MaxAge: -1},
		},
		{
			name: "empty values count as omitted (RFC 6749 §3.1)",
			mod: func(q url.Values) {
				q.Set("redirect_uri", "")
				q.Set("state", "")
				q.Set("scope", "")
				q.Set("max_age", "")
				q.Set("prompt", "")
				q.Set("request", "")
				q["resource"] = []string{""}
			},
			want: AuthorizeRequest{
				ClientID: "app", ResponseType: "code", ResponseMode: ResponseModeQuery,
				CodeChallenge: rfcChallenge, CodeChallengeMethod: "S256", MaxAge: -1,
			},
		},
		{
			name: "fragment mode, prompt none, large max_age",
			mod: func(q url.Values) {
				q.Set("response_mode", "fragment")
				q.Set("prompt", "none")
				q.Set("max_age", "86400")
			},
			want: AuthorizeRequest{
				ClientID: "app", RedirectURI: "https://app.example/cb", ResponseType: "code",
				ResponseMode: ResponseModeFragment, State: "xyz", CodeChallenge: rfcChallenge,
				CodeChallengeMethod: "S256", MaxAge: 86400, Prompt: []string{"none"},
			},
		},
		{
			name: "loopback and private-use redirect URIs parse",
			mod:  func(q url.Values) { q.Set("redirect_uri", "com.example.app:/cb") },
			want: AuthorizeRequest{
				ClientID: "app", RedirectURI: "com.example.app:/cb", ResponseType: "code",
				ResponseMode: ResponseModeQuery, State: "xyz", CodeChallenge: rfcChallenge,
				CodeChallengeMethod: "S256", MaxAge: -1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := validAuthorizeQuery()
			tt.mod(q)
			got, err := ParseAuthorizeRequest(q)
			if err != nil {
				t.Fatalf("ParseAuthorizeRequest(%q) error = %v, want nil", q.Encode(), err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseAuthorizeRequest(%q) =\n%+v\nwant\n%+v", q.Encode(), *got, tt.want)
			}
		})
	}
}

func TestParseAuthorizeRequestErrors(t *testing.T) {
	const long = 2049
	tests := []struct {
		name     string
		mod      func(q url.Values)
		nilReq   bool   // client_id/redirect_uri unusable: never redirect
		code     Code   // expected error code
		desc     string // substring of the description
		state    string // expected req.State when req != nil
		wantMode ResponseMode
	}{
		// Errors that must never be redirected (RFC 6749 §4.1.2.1).
		{name: "client_id missing", mod: func(q url.Values) { q.Del("client_id") }, nilReq: true, code: InvalidRequest, desc: "client_id"},
		{name: "client_id empty", mod: func(q url.Values) { q.Set("client_id", "") }, nilReq: true, code: InvalidRequest, desc: "client_id"},
		{name: "client_id repeated", mod: func(q url.Values) { q.Add("client_id", "evil") }, nilReq: true, code: InvalidRequest, desc: "client_id must not be repeated"},
		{name: "client_id repeated with empty", mod: func(q url.Values) { q.Add("client_id", "") }, nilReq: true, code: InvalidRequest, desc: "client_id"},
		{name: "client_id invalid UTF-8", mod: func(q url.Values) { q.Set("client_id", "app\xff") }, nilReq: true, code: InvalidRequest, desc: "UTF-8"},
		{name: "client_id control char", mod: func(q url.Values) { q.Set("client_id", "app\n") }, nilReq: true, code: InvalidRequest, desc: "control"},
		{name: "client_id C1 control", mod: func(q url.Values) { q.Set("client_id", "app\u0085") }, nilReq: true, code: InvalidRequest, desc: "control"},
		{name: "client_id DEL", mod: func(q url.Values) { q.Set("client_id", "app\x7f") }, nilReq: true, code: InvalidRequest, desc: "control"},
		{name: "client_id too long", mod: func(q url.Values) { q.Set("client_id", strings.Repeat("a", long)) }, nilReq: true, code: InvalidRequest, desc: "too long"},
		{name: "redirect_uri repeated", mod: func(q url.Values) { q.Add("redirect_uri", "https://evil.example/cb") }, nilReq: true, code: InvalidRequest, desc: "redirect_uri must not be repeated"},
		{name: "redirect_uri invalid UTF-8", mod: func(q url.Values) { q.Set("redirect_uri", "https://app.example/\xff") }, nilReq: true, code: InvalidRequest, desc: "UTF-8"},
		{name: "redirect_uri control char", mod: func(q url.Values) { q.Set("redirect_uri", "https://app.example/cb\r\nX: y") }, nilReq: true, code: InvalidRequest, desc: "control"},
		{name: "redirect_uri relative", mod: func(q url.Values) { q.Set("redirect_uri", "/cb") }, nilReq: true, code: InvalidRequest, desc: "absolute"},
		{name: "redirect_uri fragment", mod: func(q url.Values) { q.Set("redirect_uri", "https://app.example/cb#x") }, nilReq: true, code: InvalidRequest, desc: "fragment"},
		{name: "redirect_uri unparsable", mod: func(q url.Values) { q.Set("redirect_uri", "https://[::1/cb") }, nilReq: true, code: InvalidRequest, desc: "redirect_uri"},
		{name: "client_id checked before redirect_uri", mod: func(q url.Values) { q.Del("client_id"); q.Add("redirect_uri", "x") }, nilReq: true, code: InvalidRequest, desc: "client_id"},

		// Redirectable errors, with state and mode filled.
		{name: "state repeated", mod: func(q url.Values) { q.Add("state", "abc") }, code: InvalidRequest, desc: "state must not be repeated", state: "", wantMode: ResponseModeQuery},
		{name: "state too long", mod: func(q url.Values) { q.Set("state", strings.Repeat("s", long)) }, code: InvalidRequest, desc: "state is too long", wantMode: ResponseModeQuery},
		{name: "state at cap is fine, nonce too long", mod: func(q url.Values) {
			q.Set("state", strings.Repeat("s", 2048))
			q.Set("nonce", strings.Repeat("n", long))
		}, code: InvalidRequest, desc: "nonce is too long", state: strings.Repeat("s", 2048), wantMode: ResponseModeQuery},
		{name: "response_mode unknown defaults to query", mod: func(q url.Values) { q.Set("response_mode", "query.jwt") }, code: InvalidRequest, desc: "response_mode", state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_mode repeated", mod: func(q url.Values) { q["response_mode"] = []string{"fragment", "fragment"} }, code: InvalidRequest, desc: "response_mode must not be repeated", state: "xyz", wantMode: ResponseModeQuery},
		{name: "request object", mod: func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, code: RequestNotSupported, desc: "request", state: "xyz", wantMode: ResponseModeQuery},
		{name: "request_uri", mod: func(q url.Values) { q.Set("request_uri", "urn:ietf:params:oauth:request_uri:x") }, code: RequestURINotSupported, desc: "request_uri", state: "xyz", wantMode: ResponseModeQuery},
		{name: "registration", mod: func(q url.Values) { q.Set("registration", "{}") }, code: RegistrationNotSupported, desc: "registration", state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_type missing", mod: func(q url.Values) { q.Del("response_type") }, code: InvalidRequest, desc: "response_type is required", state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_type repeated", mod: func(q url.Values) { q.Add("response_type", "code") }, code: InvalidRequest, desc: "response_type must not be repeated", state: "xyz", wantMode: ResponseModeQuery},
		{name: "implicit token", mod: func(q url.Values) { q.Set("response_type", "token") }, code: UnsupportedResponseType, desc: "RFC 9700 section 2.1.2", state: "xyz", wantMode: ResponseModeFragment},
		{name: "implicit id_token", mod: func(q url.Values) { q.Set("response_type", "id_token") }, code: UnsupportedResponseType, desc: "implicit and hybrid", state: "xyz", wantMode: ResponseModeFragment},
		{name: "implicit id_token token", mod: func(q url.Values) { q.Set("response_type", "id_token token") }, code: UnsupportedResponseType, desc: "implicit and hybrid", state: "xyz", wantMode: ResponseModeFragment},
		{name: "hybrid code id_token", mod: func(q url.Values) { q.Set("response_type", "code id_token") }, code: UnsupportedResponseType, desc: "authorization code flow with PKCE", state: "xyz", wantMode: ResponseModeFragment},
		{name: "hybrid code token", mod: func(q url.Values) { q.Set("response_type", "code token") }, code: UnsupportedResponseType, desc: "implicit and hybrid", state: "xyz", wantMode: ResponseModeFragment},
		{name: "hybrid reordered", mod: func(q url.Values) { q.Set("response_type", "id_token code token") }, code: UnsupportedResponseType, desc: "implicit and hybrid", state: "xyz", wantMode: ResponseModeFragment},
		{name: "hybrid with explicit query mode", mod: func(q url.Values) { q.Set("response_type", "code id_token"); q.Set("response_mode", "query") }, code: UnsupportedResponseType, desc: "implicit and hybrid", state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_type none", mod: func(q url.Values) { q.Set("response_type", "none") }, code: UnsupportedResponseType, desc: "only code", state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_type upper case", mod: func(q url.Values) { q.Set("response_type", "CODE") }, code: UnsupportedResponseType, desc: "only code", state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_type code code", mod: func(q url.Values) { q.Set("response_type", "code code") }, code: UnsupportedResponseType, state: "xyz", wantMode: ResponseModeQuery},
		{name: "response_type trailing space", mod: func(q url.Values) { q.Set("response_type", "code ") }, code: UnsupportedResponseType, state: "xyz", wantMode: ResponseModeQuery},
		{name: "scope bad char", mod: func(q url.Values) { q.Set("scope", `openid "x"`) }, code: InvalidScope, state: "xyz", wantMode: ResponseModeQuery},
		{name: "scope double space", mod: func(q url.Values) { q.Set("scope", "openid  profile") }, code: InvalidScope, state: "xyz", wantMode: ResponseModeQuery},
		{name: "scope repeated", mod: func(q url.Values) { q["scope"] = []string{"openid", "admin"} }, code: InvalidRequest, desc: "scope must not be repeated", state: "xyz", wantMode: ResponseModeQuery},
		{name: "plain explicit", mod: func(q url.Values) { q.Set("code_challenge_method", "plain") }, code: InvalidRequest, desc: "code_challenge_method plain is not supported; use S256", state: "xyz", wantMode: ResponseModeQuery},
		{name: "plain implied by absent method (RFC 7636 §4.3)", mod: func(q url.Values) { q.Del("code_challenge_method") }, code: InvalidRequest, desc: "code_challenge_method plain is not supported; use S256", state: "xyz", wantMode: ResponseModeQuery},
		{name: "plain with a verifier-shaped challenge", mod: func(q url.Values) { q.Del("code_challenge_method"); q.Set("code_challenge", rfcVerifier) }, code: InvalidRequest, desc: "plain is not supported", state: "xyz", wantMode: ResponseModeQuery},
		{name: "method lower case s256", mod: func(q url.Values) { q.Set("code_challenge_method", "s256") }, code: InvalidRequest, desc: "use S256", state: "xyz", wantMode: ResponseModeQuery},
		{name: "method unknown", mod: func(q url.Values) { q.Set("code_challenge_method", "S512") }, code: InvalidRequest, desc: "use S256", state: "xyz", wantMode: ResponseModeQuery},
		{name: "method without challenge", mod: func(q url.Values) { q.Del("code_challenge") }, code: InvalidRequest, desc: "requires code_challenge", state: "xyz", wantMode: ResponseModeQuery},
		{name: "challenge too short", mod: func(q url.Values) { q.Set("code_challenge", rfcChallenge[:42]) }, code: InvalidRequest, desc: "code_challenge", state: "xyz", wantMode: ResponseModeQuery},
		{name: "challenge padded", mod: func(q url.Values) { q.Set("code_challenge", rfcChallenge+"=") }, code: InvalidRequest, desc: "code_challenge", state: "xyz", wantMode: ResponseModeQuery},
		{name: "challenge std base64", mod: func(q url.Values) { q.Set("code_challenge", strings.ReplaceAll(rfcChallenge, "-", "+")) }, code: InvalidRequest, desc: "code_challenge", state: "xyz", wantMode: ResponseModeQuery},
		{name: "challenge repeated", mod: func(q url.Values) { q.Add("code_challenge", rfcChallenge) }, code: InvalidRequest, desc: "code_challenge must not be repeated", state: "xyz", wantMode: ResponseModeQuery},
		{name: "prompt none with login", mod: func(q url.Values) { q.Set("prompt", "none login") }, code: InvalidRequest, desc: "none", state: "xyz", wantMode: ResponseModeQuery},
		{name: "prompt consent none", mod: func(q url.Values) { q.Set("prompt", "consent none") }, code: InvalidRequest, desc: "none", state: "xyz", wantMode: ResponseModeQuery},
		{name: "prompt unknown", mod: func(q url.Values) { q.Set("prompt", "create") }, code: InvalidRequest, desc: "prompt", state: "xyz", wantMode: ResponseModeQuery},
		{name: "prompt double space", mod: func(q url.Values) { q.Set("prompt", "login  consent") }, code: InvalidRequest, desc: "prompt", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age negative", mod: func(q url.Values) { q.Set("max_age", "-1") }, code: InvalidRequest, desc: "max_age", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age plus sign", mod: func(q url.Values) { q.Set("max_age", "+5") }, code: InvalidRequest, desc: "max_age", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age not a number", mod: func(q url.Values) { q.Set("max_age", "1h") }, code: InvalidRequest, desc: "max_age", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age overflow", mod: func(q url.Values) { q.Set("max_age", "99999999999999999999") }, code: InvalidRequest, desc: "max_age", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age overflows time.Duration", mod: func(q url.Values) { q.Set("max_age", "9223372037") }, code: InvalidRequest, desc: "max_age", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age above MaxMaxAge", mod: func(q url.Values) { q.Set("max_age", "2147483648") }, code: InvalidRequest, desc: "max_age", state: "xyz", wantMode: ResponseModeQuery},
		{name: "max_age repeated", mod: func(q url.Values) { q["max_age"] = []string{"1", "2"} }, code: InvalidRequest, desc: "max_age must not be repeated", state: "xyz", wantMode: ResponseModeQuery},
		{name: "ui_locales repeated", mod: func(q url.Values) { q["ui_locales"] = []string{"de", "fr"} }, code: InvalidRequest, desc: "ui_locales", state: "xyz", wantMode: ResponseModeQuery},
		{name: "login_hint control", mod: func(q url.Values) { q.Set("login_hint", "a\x00b") }, code: InvalidRequest, desc: "login_hint", state: "xyz", wantMode: ResponseModeQuery},
		{name: "resource relative", mod: func(q url.Values) { q.Set("resource", "/api") }, code: InvalidTarget, state: "xyz", wantMode: ResponseModeQuery},
		{name: "resource fragment", mod: func(q url.Values) { q.Set("resource", "https://api.example/#x") }, code: InvalidTarget, state: "xyz", wantMode: ResponseModeQuery},
		{name: "resource second one bad", mod: func(q url.Values) { q["resource"] = []string{"https://api.example/", "api"} }, code: InvalidTarget, state: "xyz", wantMode: ResponseModeQuery},
		{name: "resource too many", mod: func(q url.Values) {
			for range 17 {
				q.Add("resource", "https://api.example/")
			}
		}, code: InvalidTarget, desc: "too many", state: "xyz", wantMode: ResponseModeQuery},
		{name: "dpop_jkt short", mod: func(q url.Values) { q.Set("dpop_jkt", "abc") }, code: InvalidRequest, desc: "dpop_jkt", state: "xyz", wantMode: ResponseModeQuery},
		{name: "dpop_jkt padded", mod: func(q url.Values) { q.Set("dpop_jkt", rfcChallenge[:42]+"=") }, code: InvalidRequest, desc: "dpop_jkt", state: "xyz", wantMode: ResponseModeQuery},
		{name: "unknown param invalid UTF-8", mod: func(q url.Values) { q.Set("display", "\xc3") }, code: InvalidRequest, desc: "display is not valid UTF-8", state: "xyz", wantMode: ResponseModeQuery},
		{name: "unregistered param invalid UTF-8 not echoed", mod: func(q url.Values) { q.Set("Call_555-0100", "\xc3") }, code: InvalidRequest, desc: "a parameter value is not valid UTF-8", state: "xyz", wantMode: ResponseModeQuery},
		{name: "unknown param name invalid UTF-8", mod: func(q url.Values) { q.Set("x\xff", "1") }, code: InvalidRequest, desc: "UTF-8", state: "xyz", wantMode: ResponseModeQuery},
		{name: "nonce invalid UTF-8", mod: func(q url.Values) { q.Set("nonce", "\xed\xa0\x80") }, code: InvalidRequest, desc: "nonce is not valid UTF-8", state: "xyz", wantMode: ResponseModeQuery},

		// First error wins, in a fixed order.
		{name: "state error before response_type error", mod: func(q url.Values) { q.Add("state", "2"); q.Set("response_type", "token") }, code: InvalidRequest, desc: "state", wantMode: ResponseModeFragment},
		{name: "request before response_type", mod: func(q url.Values) { q.Set("request", "x"); q.Set("response_type", "token") }, code: RequestNotSupported, state: "xyz", wantMode: ResponseModeFragment},
		{name: "response_type before scope", mod: func(q url.Values) { q.Set("response_type", "x"); q.Set("scope", `"`) }, code: UnsupportedResponseType, state: "xyz", wantMode: ResponseModeQuery},
		{name: "scope before PKCE", mod: func(q url.Values) { q.Set("scope", `"`); q.Set("code_challenge_method", "plain") }, code: InvalidScope, state: "xyz", wantMode: ResponseModeQuery},
		{name: "mode kept on later error", mod: func(q url.Values) { q.Set("response_mode", "form_post"); q.Set("prompt", "x") }, code: InvalidRequest, desc: "prompt", state: "xyz", wantMode: ResponseModeFormPost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := validAuthorizeQuery()
			tt.mod(q)
			req, err := ParseAuthorizeRequest(q)
			if err == nil {
				t.Fatalf("ParseAuthorizeRequest(%q) = %+v, nil; want error %s", q.Encode(), req, tt.code)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("ParseAuthorizeRequest(%q) error type %T, want *Error", q.Encode(), err)
			}
			if e.Code != tt.code || !strings.Contains(e.Description, tt.desc) {
				t.Errorf("ParseAuthorizeRequest(%q) error = %v, want code %s with description containing %q", q.Encode(), e, tt.code, tt.desc)
			}
			if tt.nilReq {
				if req != nil {
					t.Errorf("ParseAuthorizeRequest(%q) req = %+v, want nil (must not redirect)", q.Encode(), req)
				}
				return
			}
			if req == nil {
				t.Fatalf("ParseAuthorizeRequest(%q) req = nil, want the redirectable request", q.Encode())
			}
			if req.ClientID != "app" || req.RedirectURI != q.Get("redirect_uri") {
				t.Errorf("req client_id, redirect_uri = %q, %q; want app, %q", req.ClientID, req.RedirectURI, q.Get("redirect_uri"))
			}
			if req.State != tt.state {
				t.Errorf("req.State = %q, want %q", req.State, tt.state)
			}
			if req.ResponseMode != tt.wantMode {
				t.Errorf("req.ResponseMode = %q, want %q", req.ResponseMode, tt.wantMode)
			}
			if req.ResponseType != "" {
				t.Errorf("req.ResponseType = %q on error, want empty", req.ResponseType)
			}
		})
	}
}

func TestAuthorizeRequestHasPrompt(t *testing.T) {
	r := &AuthorizeRequest{Prompt: []string{PromptLogin, PromptConsent}}
	for p, want := range map[string]bool{PromptLogin: true, PromptConsent: true, PromptNone: false, PromptSelectAccount: false, "": false} {
		if got := r.HasPrompt(p); got != want {
			t.Errorf("HasPrompt(%q) = %v, want %v", p, got, want)
		}
	}
	if (&AuthorizeRequest{}).HasPrompt(PromptNone) {
		t.Error("HasPrompt(none) on a request without prompt = true, want false")
	}
}

func TestAuthorizeQueryOmitsDefaults(t *testing.T) {
	req, err := ParseAuthorizeRequest(validAuthorizeQuery())
	if err != nil {
		t.Fatal(err)
	}
	q := req.Query()
	for _, k := range []string{"response_mode", "max_age", "scope", "prompt", "resource", "nonce"} {
		if _, ok := q[k]; ok {
			t.Errorf("Query() has %s = %q, want it omitted", k, q[k])
		}
	}
}

// randomAuthorizeRequest returns a random request that parsing must accept.
func randomAuthorizeRequest(r *rand.Rand) *AuthorizeRequest {
	str := func(alphabet []rune, maxLen int) string {
		n := r.IntN(maxLen + 1)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	text := []rune("abcXYZ019 -._~!\"#$%&'()*+,/:;<=>?@[\\]^`{|}é日本😀\u00a0\u200b")
	pick := func(opts ...string) string { return opts[r.IntN(len(opts))] }
	req := &AuthorizeRequest{
		ClientID:     "c" + str(text, 20),
		RedirectURI:  pick("", "https://app.example/cb", "http://127.0.0.1:8080/cb?x=1", "com.example.app:/cb", "https://app.example/cb?a=%2F&b"),
		ResponseType: "code",
		ResponseMode: ResponseMode(pick("query", "fragment", "form_post")),
		State:        str(text, 40),
		Nonce:        str(text, 40),
		LoginHint:    str(text, 20),
		MaxAge:       r.IntN(5) - 1, // -1 (absent) to 3
	}
	if r.IntN(2) == 0 {
		req.MaxAge = r.IntN(1 << 30)
	}
	if r.IntN(3) > 0 {
		req.CodeChallenge = S256Challenge(str([]rune("abc-._~"), 80))
		req.CodeChallengeMethod = MethodS256
	}
	for _, s := range []string{"openid", "profile", "a!#[]^~", "offline_access", "x:y/z"} {
		if r.IntN(2) == 0 {
			req.Scopes = append(req.Scopes, s)
		}
	}
	switch r.IntN(4) {
	case 0:
		req.Prompt = []string{PromptNone}
	case 1:
		for _, p := range []string{PromptSelectAccount, PromptLogin, PromptConsent} {
			if r.IntN(2) == 0 {
				req.Prompt = append(req.Prompt, p)
			}
		}
	}
	for range r.IntN(4) {
		req.Resources = append(req.Resources, pick("https://api.example/", "urn:x:y", "https://api.example/v1?tenant=a%20b"))
	}
	if r.IntN(2) == 0 {
		req.DPoPJKT = S256Challenge(str(text, 10))
	}
	return req
}

// TestAuthorizeQueryRoundTrip is a property test: for any valid request r,
// ParseAuthorizeRequest(r.Query()) equals r, also after the query went
// through its string encoding.
func TestAuthorizeQueryRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 636))
	for i := range 3000 {
		want := randomAuthorizeRequest(r)
		enc := want.Query().Encode()
		q, err := url.ParseQuery(enc)
		if err != nil {
			t.Fatalf("#%d url.ParseQuery(%q): %v", i, enc, err)
		}
		got, err := ParseAuthorizeRequest(q)
		if err != nil {
			t.Fatalf("#%d ParseAuthorizeRequest(%q) error = %v, want nil", i, enc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("#%d ParseAuthorizeRequest(%q) =\n%+v\nwant\n%+v", i, enc, got, want)
		}
	}
}

func BenchmarkParseAuthorizeRequest(b *testing.B) {
	q := validAuthorizeQuery()
	q.Set("scope", "openid profile email offline_access")
	q.Set("nonce", "n-0S6_WzA2Mj")
	q.Set("prompt", "consent")
	for b.Loop() {
		if _, err := ParseAuthorizeRequest(q); err != nil {
			b.Fatal(err)
		}
	}
}
