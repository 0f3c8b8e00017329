package registration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestValidateClientNamesFields: one policy, two vocabularies. The CLI
// and the admin API get the same verdict, each naming the offending
// field its own way.
func TestValidateClientNamesFields(t *testing.T) {
	tests := []struct {
		name  string
		c     store.Client
		field Field
		flag  string
		json  string
	}{
		{"http redirect", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"http://evil.example/cb"}}, FieldRedirectURIs, "invalid --redirect-uri", "invalid redirect_uris"},
		{"missing redirect", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes()}, FieldRedirectURIs, "--redirect-uri is required", "redirect_uris is required"},
		{"bad origin", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AllowedOrigins: []string{"https://a.example/path"}}, FieldAllowedOrigins, "--allowed-origin", "allowed_origins"},
		{"negative ttl", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AccessTokenTTL: -1}, FieldAccessTokenTTL, "--access-token-ttl must not be negative", "access_token_ttl must not be negative"},
		// Refused with the limit, not silently shortened to it at the
		// token endpoint.
		{"ttl over the cap", store.Client{ID: "x", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: []string{"https://a.example/cb"}, AccessTokenTTL: 2 * time.Hour}, FieldAccessTokenTTL, "--access-token-ttl (2h) must be at most 1h", "access_token_ttl (2h) must be at most 1h"},
		{"public client_credentials", store.Client{ID: "x", Public: true, GrantTypes: []string{"client_credentials"}}, FieldGrantTypes, "public client", "public client"},
		{"space in id", store.Client{ID: "a b", GrantTypes: []string{"client_credentials"}}, FieldID, "without spaces", "without spaces"},
	}
	for _, tt := range tests {
		for _, v := range []struct {
			name   func(Field) string
			substr string
		}{{Field.Flag, tt.flag}, {Field.JSON, tt.json}} {
			c := tt.c
			err := ValidateClient(&c, v.name)
			var re *Error
			if !errors.As(err, &re) || re.Field != tt.field || !strings.Contains(err.Error(), v.substr) {
				t.Errorf("%s: ValidateClient = %v, want *Error on field %d mentioning %q", tt.name, err, tt.field, v.substr)
			}
		}
	}
	ok := store.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, AllowedOrigins: []string{"HTTPS://App.Example:443", "https://app.example"}}
	if err := ValidateClient(&ok, Field.JSON); err != nil {
		t.Fatalf("valid client refused: %v", err)
	}
	if len(ok.AllowedOrigins) != 1 || ok.AllowedOrigins[0] != "https://app.example" {
		t.Errorf("origins not normalised and deduplicated: %v", ok.AllowedOrigins)
	}
	for f := FieldID; f <= FieldAccessTokenTTL; f++ {
		if !strings.HasPrefix(f.Flag(), "--") || f.JSON() == "" {
			t.Errorf("field %d has no names: %q %q", f, f.Flag(), f.JSON())
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                                 false,
		"kq7!z":                            false,
		"1234567":                          false,
		"12345678":                         true,
		"pässwörd":                         true, // 8 runes, 10 bytes
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8": false,
		strings.Repeat("a", 1024):          true,
		strings.Repeat("a", 1025):          false,
	} {
		err := CheckPassword(pw)
		if (err == nil) != ok {
			t.Errorf("CheckPassword(%d bytes) = %v, want ok=%v", len(pw), err, ok)
		}
		if err != nil && len(pw) >= 4 && strings.Contains(err.Error(), pw) {
			t.Errorf("CheckPassword echoes the password: %v", err)
		}
	}
}

func TestNewUserID(t *testing.T) {
	a, b := NewUserID(), NewUserID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("NewUserID() = %q, %q: want distinct version 4 UUIDs", a, b)
	}
}
