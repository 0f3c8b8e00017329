package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// maxBody caps every response body the workloads read.
const maxBody = 1 << 20

// agent is one worker's user agent: the shared transport, its own cookie
// jar (its SSO session), redirects never followed automatically (the
// workloads look at each one).
type agent struct {
	hc *http.Client
	t  *Target
}

func newAgent(rt http.RoundTripper, t *Target) *agent {
	jar, _ := cookiejar.New(nil) // cannot fail without options
	return &agent{t: t, hc: &http.Client{
		Transport:     rt,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends req and reads the whole body (at most maxBody), so the
// connection goes back to the pool.
func (a *agent) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading body: %w", req.Method, req.URL.Path, err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp, body, nil
}

func (a *agent) postForm(ctx context.Context, u string, form url.Values, basic bool) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: client id and secret form-urlencoded, then Basic.
		req.SetBasicAuth(url.QueryEscape(a.t.ClientID), url.QueryEscape(a.t.ClientSecret))
	}
	return a.do(req)
}

func (a *agent) get(ctx context.Context, u string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	return a.do(req)
}

// authRequest is one authorization request with its secrets.
type authRequest struct {
	URL      string
	State    string
	Nonce    string
	Verifier string
}

// randomString is 32 random bytes, base64url: 43 characters, a valid
// PKCE code_verifier (RFC 7636 §4.1).
func randomString() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newAuthRequest builds an Authorization Code request with PKCE S256
// (RFC 7636 §4.2) for the public client.
func (t *Target) newAuthRequest() authRequest {
	ar := authRequest{State: randomString()[:22], Nonce: randomString()[:22], Verifier: randomString()}
	sum := sha256.Sum256([]byte(ar.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {t.PublicClientID},
		"redirect_uri":          {t.RedirectURI},
		"scope":                 {t.Scope},
		"state":                 {ar.State},
		"nonce":                 {ar.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(t.AuthorizeURL, "?") {
		sep = "&"
	}
	ar.URL = t.AuthorizeURL + sep + q.Encode()
	return ar
}

// isRedirect reports a 3xx with a Location.
func isRedirect(resp *http.Response) bool {
	return resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != ""
}

// callback checks a redirect to the client's redirect URI and returns the
// code (RFC 6749 §4.1.2): the state must come back unchanged and an iss
// parameter, when present, must be the issuer (RFC 9207 §2.4). ok is false
// when loc is not the redirect URI at all.
func (t *Target) callback(loc *url.URL, ar authRequest) (code string, ok bool, err error) {
	ru, err := url.Parse(t.RedirectURI)
	if err != nil {
		return "", false, err
	}
	if loc.Scheme != ru.Scheme || loc.Host != ru.Host || loc.Path != ru.Path {
		return "", false, nil
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", true, fmt.Errorf("authorization error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != ar.State {
		return "", true, fmt.Errorf("callback state %q, want %q", q.Get("state"), ar.State)
	}
	if iss := q.Get("iss"); iss != "" && iss != t.Issuer {
		return "", true, fmt.Errorf("callback iss %q, want %q", iss, t.Issuer)
	}
	if q.Get("code") == "" {
		return "", true, errors.New("callback without code")
	}
	return q.Get("code"), true, nil
}

// authorizeWithSession is the browser step of W2 for a user who holds an
// SSO session: GET the authorization endpoint; the answer must be a
// redirect straight to the client with code and state.
func (a *agent) authorizeWithSession(ctx context.Context, ar authRequest) (string, error) {
	resp, body, err := a.get(ctx, ar.URL)
	if err != nil {
		return "", err
	}
	if !isRedirect(resp) {
		return "", fmt.Errorf("authorize: %d, want a redirect to the client: %s", resp.StatusCode, excerpt(body))
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", fmt.Errorf("authorize: bad Location: %w", err)
	}
	code, ok, err := a.t.callback(loc, ar)
	if !ok && err == nil {
		return "", fmt.Errorf("authorize: redirect to %s, not to the client (is the session gone?)", loc.Path)
	}
	return code, err
}

// maxSignInSteps bounds the pages and redirects of an interactive sign-in.
const maxSignInSteps = 20

// signIn runs an authorization request interactively, as a browser would:
// it follows redirects within the server, fills the login form (the one
// with a password field) with the user's credentials, submits a consent
// form with its "allow"-like button, and stops at the redirect to the
// client, whose code it returns. The forms are found by a small HTML
// scanner that knows Latch's pages and oidc-provider's dev interactions;
// it is no general HTML parser.
func (a *agent) signIn(ctx context.Context, ar authRequest) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ar.URL, nil)
	if err != nil {
		return "", err
	}
	for range maxSignInSteps {
		resp, body, err := a.do(req)
		if err != nil {
			return "", err
		}
		if isRedirect(resp) {
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return "", fmt.Errorf("sign-in: bad Location: %w", err)
			}
			if code, ok, err := a.t.callback(loc, ar); ok {
				return code, err
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return "", err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("sign-in: %s %s: %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, excerpt(body))
		}
		f, ok := pickForm(string(body))
		if !ok {
			return "", fmt.Errorf("sign-in: %s: a page without a form: %s", resp.Request.URL.Path, excerpt(body))
		}
		if req, err = f.request(ctx, resp.Request.URL, a.t.Username, a.t.Password); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("sign-in: no redirect to the client after %d steps", maxSignInSteps)
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
	allowRE  = regexp.MustCompile(`(?i)^(allow|accept|approve|yes|consent|continue|confirm)$`)
	userRE   = regexp.MustCompile(`(?i)^(username|login|user|email)$`)
	denyRE   = regexp.MustCompile(`(?i)^(deny|reject|cancel|abort|no)$`)
	passType = "password"
)

// form is one HTML form: its action, method and fields.
type form struct {
	action, method string
	fields         []field
	hasPassword    bool
	submits        []field // named submit buttons
}

type field struct{ typ, name, value string }

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		v := a[2]
		if v == "" {
			v = a[3]
		}
		m[strings.ToLower(a[1])] = html.UnescapeString(v)
	}
	return m
}

// pickForm returns the login form (with a password field) if the page has
// one, else the first form.
func pickForm(page string) (form, bool) {
	var forms []form
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		fa := attrs(m[1])
		f := form{action: fa["action"], method: strings.ToUpper(fa["method"])}
		if f.method == "" {
			f.method = http.MethodGet
		}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			ia := attrs(in[2])
			typ := strings.ToLower(ia["type"])
			if strings.EqualFold(in[1], "button") && typ == "" {
				typ = "submit"
			}
			fl := field{typ: typ, name: ia["name"], value: ia["value"]}
			switch {
			case fl.name == "":
			case typ == "submit":
				f.submits = append(f.submits, fl)
			default:
				if typ == passType {
					f.hasPassword = true
				}
				f.fields = append(f.fields, fl)
			}
		}
		forms = append(forms, f)
	}
	for _, f := range forms {
		if f.hasPassword {
			return f, true
		}
	}
	if len(forms) == 0 {
		return form{}, false
	}
	return forms[0], true
}

// request fills f (credentials into the username and password fields, the
// allow-like submit button) and builds its submission.
func (f form) request(ctx context.Context, base *url.URL, username, password string) (*http.Request, error) {
	vals := url.Values{}
	for _, fl := range f.fields {
		v := fl.value
		switch {
		case fl.typ == passType:
			v = password
		case (fl.typ == "text" || fl.typ == "email" || fl.typ == "") && userRE.MatchString(fl.name):
			v = username
		}
		vals.Add(fl.name, v)
	}
	// A consent form has several named buttons: press the allowing one.
	for _, s := range f.submits {
		if allowRE.MatchString(s.value) {
			vals.Set(s.name, s.value)
			break
		}
	}
	if len(f.submits) > 0 && !vals.Has(f.submits[0].name) && !denyRE.MatchString(f.submits[0].value) {
		vals.Set(f.submits[0].name, f.submits[0].value)
	}
	action, err := base.Parse(f.action)
	if err != nil {
		return nil, fmt.Errorf("sign-in: bad form action %q: %w", f.action, err)
	}
	if f.method == http.MethodPost {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	action.RawQuery = vals.Encode()
	return http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// oauthError is an error response (RFC 6749 §5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token posts a token request and checks the answer is a usable token
// response: 200, JSON, an access token of type Bearer.
func (a *agent) token(ctx context.Context, form url.Values, basic bool) (*tokenResponse, error) {
	resp, body, err := a.postForm(ctx, a.t.TokenURL, form, basic)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token (%s): %s", form.Get("grant_type"), describeError(resp, body))
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token (%s): response is not JSON: %w", form.Get("grant_type"), err)
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, fmt.Errorf("token (%s): access_token %t, token_type %q", form.Get("grant_type"), tr.AccessToken != "", tr.TokenType)
	}
	return &tr, nil
}

// exchange redeems a code with its verifier (RFC 6749 §4.1.3, RFC 7636
// §4.5) for the public client and checks the tokens: an access token, an
// ID token for this client with the request's nonce, and a refresh token
// when wantRefresh.
func (a *agent) exchange(ctx context.Context, ar authRequest, code string, wantRefresh bool) (*tokenResponse, error) {
	tr, err := a.token(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {a.t.RedirectURI},
		"client_id":     {a.t.PublicClientID},
		"code_verifier": {ar.Verifier},
	}, false)
	if err != nil {
		return nil, err
	}
	if err := a.t.checkIDToken(tr.IDToken, ar.Nonce); err != nil {
		return nil, err
	}
	if wantRefresh && tr.RefreshToken == "" {
		return nil, errors.New("token (authorization_code): no refresh_token")
	}
	return tr, nil
}

// checkIDToken decodes an ID token's claims WITHOUT checking its
// signature (the load tool must not spend the CPU it measures) and checks
// iss, aud and, when nonce is set, nonce (OIDC Core §3.1.3.7 items 2, 3,
// 11). It requires an ID token only when the scope asked for openid.
func (t *Target) checkIDToken(raw, nonce string) error {
	if raw == "" {
		if hasOpenID(t.Scope) {
			return errors.New("token: no id_token for an openid request")
		}
		return nil
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("id_token: not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("id_token: %w", err)
	}
	var c struct {
		Iss   string          `json:"iss"`
		Aud   json.RawMessage `json:"aud"`
		Nonce string          `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("id_token: %w", err)
	}
	if c.Iss != t.Issuer {
		return fmt.Errorf("id_token: iss %q, want %q", c.Iss, t.Issuer)
	}
	var one string
	var many []string
	if json.Unmarshal(c.Aud, &one) == nil {
		many = []string{one}
	} else if err := json.Unmarshal(c.Aud, &many); err != nil {
		return fmt.Errorf("id_token: aud: %w", err)
	}
	found := false
	for _, a := range many {
		found = found || a == t.PublicClientID
	}
	if !found {
		return fmt.Errorf("id_token: aud %s does not contain %q", c.Aud, t.PublicClientID)
	}
	if nonce != "" && c.Nonce != nonce {
		return fmt.Errorf("id_token: nonce %q, want %q", c.Nonce, nonce)
	}
	return nil
}

func hasOpenID(scope string) bool {
	for s := range strings.FieldsSeq(scope) {
		if s == "openid" {
			return true
		}
	}
	return false
}

// refresh uses a refresh token of the public client (RFC 6749 §6) and
// requires a new one in return (rotation, RFC 9700 §4.14.2).
func (a *agent) refresh(ctx context.Context, rt string) (*tokenResponse, error) {
	tr, err := a.token(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"client_id":     {a.t.PublicClientID},
	}, false)
	if err != nil {
		return nil, err
	}
	if tr.RefreshToken == "" || tr.RefreshToken == rt {
		return nil, errors.New("token (refresh_token): the refresh token was not rotated")
	}
	if err := a.t.checkIDToken(tr.IDToken, ""); err != nil {
		return nil, err
	}
	return tr, nil
}

// clientCredentials is the client_credentials grant (RFC 6749 §4.4) with
// client_secret_basic.
func (a *agent) clientCredentials(ctx context.Context) (*tokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if a.t.CCScope != "" {
		form.Set("scope", a.t.CCScope)
	}
	return a.token(ctx, form, true)
}

// introspect asks about tok (RFC 7662 §2.1) as the confidential client
// and requires "active": true.
func (a *agent) introspect(ctx context.Context, tok string) error {
	if a.t.IntrospectURL == "" {
		return errors.New("the server advertises no introspection_endpoint")
	}
	resp, body, err := a.postForm(ctx, a.t.IntrospectURL, url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, true)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("introspect: %s", describeError(resp, body))
	}
	var r struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("introspect: response is not JSON: %w", err)
	}
	if !r.Active {
		return errors.New("introspect: active=false for a valid token")
	}
	return nil
}

// describeError renders an error response for the error samples.
func describeError(resp *http.Response, body []byte) string {
	var e oauthError
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Sprintf("%d %s: %s", resp.StatusCode, e.Error, e.Description)
	}
	return fmt.Sprintf("%d: %s", resp.StatusCode, excerpt(body))
}

// excerpt shortens a body for an error message.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
