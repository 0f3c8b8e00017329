package oauth

import (
	"net/url"
	"reflect"
	"testing"
)

func TestParseRevocationRequest(t *testing.T) {
	tests := []struct {
		name    string
		auth    string
		form    url.Values
		want    *RevocationRequest
		errCode Code // "" when no error is expected
	}{
		{"basic with hint", basic("api", "s"), url.Values{"token": {"T"}, "token_type_hint": {"refresh_token"}},
			&RevocationRequest{Client: ClientCredentials{ID: "api", Secret: "s", Method: AuthClientSecretBasic}, Token: "T", TokenTypeHint: HintRefreshToken}, ""},
		{"public client, no hint", "", url.Values{"client_id": {"spa"}, "token": {"T"}},
			&RevocationRequest{Client: ClientCredentials{ID: "spa", Secret: "", Method: AuthNone}, Token: "T"}, ""},
		{"post", "", url.Values{"client_id": {"api"}, "client_secret": {"s"}, "token": {"T"}},
			&RevocationRequest{Client: ClientCredentials{ID: "api", Secret: "s", Method: AuthClientSecretPost}, Token: "T"}, ""},
		{"unknown hint kept (RFC 7009 §2.1)", "", url.Values{"client_id": {"spa"}, "token": {"T"}, "token_type_hint": {"id_token"}},
			&RevocationRequest{Client: ClientCredentials{ID: "spa", Secret: "", Method: AuthNone}, Token: "T", TokenTypeHint: "id_token"}, ""},
		{"no token: left to the server, after authentication", "", url.Values{"client_id": {"spa"}},
			&RevocationRequest{Client: ClientCredentials{ID: "spa", Secret: "", Method: AuthNone}}, ""},
		{"no client authentication", "", url.Values{"token": {"T"}}, nil, InvalidClient},
		{"empty client_id is still a client_id parameter", "", url.Values{"client_id": {""}, "token": {"T"}}, nil, InvalidRequest},
		{"repeated token", "", url.Values{"client_id": {"spa"}, "token": {"A", "B"}}, nil, InvalidRequest},
		{"repeated hint", "", url.Values{"client_id": {"spa"}, "token": {"T"}, "token_type_hint": {"access_token", "refresh_token"}}, nil, InvalidRequest},
		{"malformed Basic", "Basic !!!", url.Values{"token": {"T"}}, nil, InvalidClient},
		{"two methods", basic("api", "s"), url.Values{"client_secret": {"s"}, "token": {"T"}}, nil, InvalidRequest},
	}
	for _, tt := range tests {
		got, err := ParseRevocationRequest(tt.auth, tt.form)
		if tt.errCode != "" {
			e, ok := err.(*Error)
			if !ok || e.Code != tt.errCode || got != nil {
				t.Errorf("%s: ParseRevocationRequest = %+v, %v; want nil, %s", tt.name, got, err, tt.errCode)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseRevocationRequest = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
		// Introspection has the same parameters and rules.
		in, err := ParseIntrospectionRequest(tt.auth, tt.form)
		if err != nil || in.Client != tt.want.Client || in.Token != tt.want.Token || in.TokenTypeHint != tt.want.TokenTypeHint {
			t.Errorf("%s: ParseIntrospectionRequest = %+v, %v; want the fields of %+v", tt.name, in, err, tt.want)
		}
	}
}
