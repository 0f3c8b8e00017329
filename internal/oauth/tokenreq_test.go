package oauth

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// basic returns an HTTP Basic header value for id and secret, encoded as
// RFC 6749 §2.3.1 requires (form-urlencoded, then base64).
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// basicRaw base64-encodes s without form-encoding it first.
func basicRaw(s string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(s))
}

func TestParseClientCredentials(t *testing.T) {
	tests := []struct {
		name    string
		auth    string
		form    url.Values
		want    ClientCredentials
		errCode Code // "" when no error is expected
	}{
		{"basic", basic("app", "s3cret"), nil, ClientCredentials{ID: "app", Secret: "s3cret", Method: AuthClientSecretBasic}, ""},
		{"basic form-urlencoded (RFC 6749 §2.3.1)", basic("my app:1", "p@ss:w+rd%/é"), nil, ClientCredentials{ID: "my app:1", Secret: "p@ss:w+rd%/é", Method: AuthClientSecretBasic}, ""},
		{"basic plus is space", basicRaw("my+app:a+b"), nil, ClientCredentials{ID: "my app", Secret: "a b", Method: AuthClientSecretBasic}, ""},
		{"basic scheme case-insensitive", "bAsIc " + strings.TrimPrefix(basic("app", "s"), "Basic "), nil, ClientCredentials{ID: "app", Secret: "s", Method: AuthClientSecretBasic}, ""},
		{"basic extra spaces", "Basic   " + strings.TrimPrefix(basic("app", "s"), "Basic "), nil, ClientCredentials{ID: "app", Secret: "s", Method: AuthClientSecretBasic}, ""},
		{"basic secret with colon split at first", basicRaw("app:a:b"), nil, ClientCredentials{ID: "app", Secret: "a:b", Method: AuthClientSecretBasic}, ""},
		{"basic with matching body client_id", basic("app", "s"), url.Values{"client_id": {"app"}}, ClientCredentials{ID: "app", Secret: "s", Method: AuthClientSecretBasic}, ""},
		{"basic empty secret is a public client", basicRaw("app:"), nil, ClientCredentials{ID: "app", Secret: "", Method: AuthNone}, ""},
		{"post", "", url.Values{"client_id": {"app"}, "client_secret": {"s"}}, ClientCredentials{ID: "app", Secret: "s", Method: AuthClientSecretPost}, ""},
		{"public", "", url.Values{"client_id": {"app"}}, ClientCredentials{ID: "app", Secret: "", Method: AuthNone}, ""},
		{"public with empty secret", "", url.Values{"client_id": {"app"}, "client_secret": {""}}, ClientCredentials{ID: "app", Secret: "", Method: AuthNone}, ""},

		{"nothing", "", url.Values{}, ClientCredentials{}, InvalidRequest},
		{"secret without id", "", url.Values{"client_secret": {"s"}}, ClientCredentials{}, InvalidRequest},
		{"body id repeated", "", url.Values{"client_id": {"app", "app"}}, ClientCredentials{}, InvalidRequest},
		{"body secret repeated", "", url.Values{"client_id": {"app"}, "client_secret": {"a", "b"}}, ClientCredentials{}, InvalidRequest},
		{"body id control char", "", url.Values{"client_id": {"app\x00"}}, ClientCredentials{}, InvalidRequest},
		{"body id invalid UTF-8", "", url.Values{"client_id": {"app\xff"}}, ClientCredentials{}, InvalidRequest},
		{"basic and body secret", basic("app", "s"), url.Values{"client_secret": {"s"}}, ClientCredentials{}, InvalidRequest},
		{"basic and different body id", basic("app", "s"), url.Values{"client_id": {"other"}}, ClientCredentials{}, InvalidRequest},
		{"basic public and different body id", basicRaw("app:"), url.Values{"client_id": {"other"}}, ClientCredentials{}, InvalidRequest},
		{"client_assertion", "", url.Values{"client_id": {"app"}, "client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {"x.y.z"}}, ClientCredentials{ID: "app", Method: AuthPrivateKeyJWT, Assertion: "x.y.z"}, ""},
		{"client_assertion without client_id", "", url.Values{"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {"x.y.z"}}, ClientCredentials{Method: AuthPrivateKeyJWT, Assertion: "x.y.z"}, ""},
		{"client_assertion of another type", "", url.Values{"client_id": {"app"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "client_assertion": {"x.y.z"}}, ClientCredentials{}, InvalidClient},
		{"client_assertion_type without assertion", "", url.Values{"client_id": {"app"}, "client_assertion_type": {ClientAssertionTypeJWT}}, ClientCredentials{}, InvalidClient},
		{"client_assertion without type", "", url.Values{"client_id": {"app"}, "client_assertion": {"x.y.z"}}, ClientCredentials{}, InvalidClient},
		{"client_assertion and secret", "", url.Values{"client_id": {"app"}, "client_secret": {"s"}, "client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {"x.y.z"}}, ClientCredentials{}, InvalidRequest},
		{"client_assertion and basic", basic("app", "s"), url.Values{"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {"x.y.z"}}, ClientCredentials{}, InvalidRequest},
		{"client_assertion repeated", "", url.Values{"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {"x.y.z", "a.b.c"}}, ClientCredentials{}, InvalidRequest},

		{"bearer scheme", "Bearer abc", nil, ClientCredentials{}, InvalidClient},
		{"basic no credentials", "Basic", nil, ClientCredentials{}, InvalidClient},
		{"basic empty credentials", "Basic ", nil, ClientCredentials{}, InvalidClient},
		{"basic bad base64", "Basic !!!", nil, ClientCredentials{}, InvalidClient},
		{"basic unpadded base64", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("app:s")), nil, ClientCredentials{}, InvalidClient},
		{"basic url-safe base64", "Basic " + base64.URLEncoding.EncodeToString([]byte("ap\xfb:s")), nil, ClientCredentials{}, InvalidClient},
		{"basic no colon", basicRaw("app"), nil, ClientCredentials{}, InvalidClient},
		{"basic empty id", basicRaw(":secret"), nil, ClientCredentials{}, InvalidClient},
		{"basic bad percent-encoding", basicRaw("app%zz:s"), nil, ClientCredentials{}, InvalidClient},
		{"basic bad percent-encoding in secret", basicRaw("app:s%"), nil, ClientCredentials{}, InvalidClient},
		{"basic invalid UTF-8", basicRaw("app%FF:s"), nil, ClientCredentials{}, InvalidClient},
		{"basic control char", basicRaw("app%0A:s"), nil, ClientCredentials{}, InvalidClient},
		{"basic too long", basic("app", strings.Repeat("s", 5000)), nil, ClientCredentials{}, InvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientCredentials(tt.auth, tt.form)
			if tt.errCode != "" {
				e, ok := As(err)
				if !ok || e.Code != tt.errCode {
					t.Errorf("ParseClientCredentials(%q, %v) = %+v, %v; want error %s", tt.auth, tt.form, got, err, tt.errCode)
				}
				if got != (ClientCredentials{}) {
					t.Errorf("ParseClientCredentials(%q, %v) returned %+v with an error, want zero", tt.auth, tt.form, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseClientCredentials(%q, %v) = %+v, %v; want %+v, nil", tt.auth, tt.form, got, err, tt.want)
			}
		})
	}
}

func TestParseTokenRequest(t *testing.T) {
	pub := ClientCredentials{ID: "app", Secret: "", Method: AuthNone}
	tests := []struct {
		name    string
		auth    string
		form    string // raw body
		want    *TokenRequest
		errCode Code
		errDesc string
	}{
		{
			name: "authorization_code",
			form: "grant_type=authorization_code&client_id=app&code=C&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=" + rfcVerifier,
			want: &TokenRequest{GrantType: GrantAuthorizationCode, Client: pub, Code: "C", RedirectURI: "https://app.example/cb", CodeVerifier: rfcVerifier},
		},
		{
			name: "authorization_code minimal, scope ignored",
			auth: basic("app", "s"),
			form: "grant_type=authorization_code&code=C&scope=admin",
			want: &TokenRequest{GrantType: GrantAuthorizationCode, Client: ClientCredentials{ID: "app", Secret: "s", Method: AuthClientSecretBasic}, Code: "C"},
		},
		{
			name: "refresh_token with scope and resources",
			form: "grant_type=refresh_token&client_id=app&refresh_token=R&scope=openid+profile&resource=https%3A%2F%2Fa.example%2F&resource=https%3A%2F%2Fb.example%2F",
			want: &TokenRequest{GrantType: GrantRefreshToken, Client: pub, RefreshToken: "R", Scopes: []string{"openid", "profile"}, Resources: []string{"https://a.example/", "https://b.example/"}},
		},
		{
			name: "refresh_token without scope has nil Scopes",
			form: "grant_type=refresh_token&client_id=app&refresh_token=R&scope=",
			want: &TokenRequest{GrantType: GrantRefreshToken, Client: pub, RefreshToken: "R"},
		},
		{
			name: "client_credentials",
			form: "grant_type=client_credentials&client_id=app&client_secret=s&scope=api:read&unknown=1&unknown=2",
			want: &TokenRequest{GrantType: GrantClientCredentials, Client: ClientCredentials{ID: "app", Secret: "s", Method: AuthClientSecretPost}, Scopes: []string{"api:read"}},
		},

		{name: "grant_type missing", form: "client_id=app&code=C", errCode: InvalidRequest, errDesc: "grant_type"},
		{name: "grant_type unknown", form: "grant_type=password&client_id=app&username=u&password=p", errCode: UnsupportedGrantType},
		{name: "grant_type jwt-bearer", form: "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_id=app", errCode: UnsupportedGrantType},
		{name: "device_code missing", form: "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=app", errCode: InvalidRequest, errDesc: "device_code is required"},
		{name: "device_code repeated", form: "grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=app&device_code=a&device_code=b", errCode: InvalidRequest, errDesc: "device_code must not be repeated"},
		{name: "grant_type case", form: "grant_type=Authorization_Code&client_id=app&code=C", errCode: UnsupportedGrantType},
		{name: "grant_type repeated", form: "grant_type=authorization_code&grant_type=refresh_token&client_id=app&code=C", errCode: InvalidRequest, errDesc: "grant_type must not be repeated"},
		{name: "code missing", form: "grant_type=authorization_code&client_id=app", errCode: InvalidRequest, errDesc: "code is required"},
		{name: "code empty", form: "grant_type=authorization_code&client_id=app&code=", errCode: InvalidRequest, errDesc: "code is required"},
		{name: "code repeated", form: "grant_type=authorization_code&client_id=app&code=A&code=B", errCode: InvalidRequest, errDesc: "code must not be repeated"},
		{name: "code_verifier repeated", form: "grant_type=authorization_code&client_id=app&code=A&code_verifier=x&code_verifier=y", errCode: InvalidRequest, errDesc: "code_verifier must not be repeated"},
		{name: "redirect_uri repeated", form: "grant_type=authorization_code&client_id=app&code=A&redirect_uri=x&redirect_uri=y", errCode: InvalidRequest, errDesc: "redirect_uri must not be repeated"},
		{name: "refresh_token missing", form: "grant_type=refresh_token&client_id=app", errCode: InvalidRequest, errDesc: "refresh_token is required"},
		{name: "refresh_token repeated", form: "grant_type=refresh_token&client_id=app&refresh_token=a&refresh_token=b", errCode: InvalidRequest, errDesc: "refresh_token must not be repeated"},
		{name: "scope invalid", form: "grant_type=refresh_token&client_id=app&refresh_token=R&scope=a%22b", errCode: InvalidScope},
		{name: "scope repeated", form: "grant_type=client_credentials&client_id=app&client_secret=s&scope=a&scope=b", errCode: InvalidRequest, errDesc: "scope must not be repeated"},
		{name: "resource relative", form: "grant_type=refresh_token&client_id=app&refresh_token=R&resource=api", errCode: InvalidTarget},
		{name: "resource fragment", form: "grant_type=refresh_token&client_id=app&refresh_token=R&resource=https%3A%2F%2Fa%2F%23f", errCode: InvalidTarget},
		{name: "invalid UTF-8 in code", form: "grant_type=authorization_code&client_id=app&code=%FF", errCode: InvalidRequest, errDesc: "UTF-8"},
		{name: "invalid UTF-8 in unknown param", form: "grant_type=authorization_code&client_id=app&code=C&x=%C3", errCode: InvalidRequest, errDesc: "UTF-8"},
		{name: "control char in refresh_token", form: "grant_type=refresh_token&client_id=app&refresh_token=a%0Ab", errCode: InvalidRequest, errDesc: "control"},
		{name: "code too long", form: "grant_type=authorization_code&client_id=app&code=" + strings.Repeat("c", 4097), errCode: InvalidRequest, errDesc: "too long"},
		{name: "no client", form: "grant_type=authorization_code&code=C", errCode: InvalidRequest, errDesc: "client_id"},
		{name: "two auth methods", auth: basic("app", "s"), form: "grant_type=authorization_code&code=C&client_secret=s", errCode: InvalidRequest},
		{name: "malformed basic", auth: "Basic x", form: "grant_type=authorization_code&code=C", errCode: InvalidClient},
		{name: "client error before grant error", auth: "Basic x", form: "grant_type=password", errCode: InvalidClient},
		{name: "duplicate before client error", auth: "Basic x", form: "grant_type=a&grant_type=b", errCode: InvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatalf("bad test body %q: %v", tt.form, err)
			}
			got, err := ParseTokenRequest(tt.auth, form)
			if tt.errCode != "" {
				e, ok := As(err)
				if !ok || e.Code != tt.errCode || !strings.Contains(e.Description, tt.errDesc) || got != nil {
					t.Errorf("ParseTokenRequest(%q, %q) = %+v, %v; want nil, %s containing %q", tt.auth, tt.form, got, err, tt.errCode, tt.errDesc)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTokenRequest(%q, %q) = %+v, %v; want %+v, nil", tt.auth, tt.form, got, err, tt.want)
			}
		})
	}
}
