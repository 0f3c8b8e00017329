package oauth

import (
	"net/url"
	"strings"
	"testing"
)

func TestNormalizeUserCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdfghjk", "BCDFGHJK", true},
		{" bcdf ghjk ", "BCDFGHJK", true},
		{"Bc-Df-Gh-Jk", "BCDFGHJK", true},
		{"BCDF-GHJ", "", false},       // too short
		{"BCDF-GHJKL", "", false},     // too long
		{"BCDF-GHJA", "", false},      // a vowel: never in a code
		{"BCDF-GHJ0", "", false},      // a digit
		{"BCDF-GHJ\u212a", "", false}, // KELVIN SIGN, not K
		{"BCDF_GHJK", "", false},
		{strings.Repeat("-", 100), "", false},
	} {
		got, ok := NormalizeUserCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNewUserCode(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		c := NewUserCode()
		n, ok := NormalizeUserCode(FormatUserCode(c))
		if !ok || n != c {
			t.Fatalf("NewUserCode() = %q: NormalizeUserCode(FormatUserCode) = %q, %v; want it back", c, n, ok)
		}
		seen[c] = true
		for _, r := range c {
			counts[r]++
		}
	}
	if len(seen) < 1990 {
		t.Errorf("2000 user codes had only %d distinct values", len(seen))
	}
	if len(counts) != len(UserCodeAlphabet) {
		t.Errorf("user codes used %d letters, want all %d of the alphabet", len(counts), len(UserCodeAlphabet))
	}
	if got := FormatUserCode("BCDFGHJK"); got != "BCDF-GHJK" {
		t.Errorf("FormatUserCode = %q, want BCDF-GHJK", got)
	}
}

func TestParseDeviceAuthorizationRequest(t *testing.T) {
	for _, tc := range []struct {
		form, auth string
		code       Code
		scope      string
	}{
		{form: "client_id=tv&scope=openid+offline_access", scope: "openid offline_access"},
		{form: "client_id=tv", scope: ""},
		{form: "scope=openid", code: InvalidRequest},
		{form: "client_id=tv&scope=a&scope=b", code: InvalidRequest},
		{form: "client_id=tv&scope=a%20%20b", code: InvalidScope},
		{form: "client_id=tv", auth: "Bearer x", code: InvalidClient},
	} {
		q, _ := url.ParseQuery(tc.form)
		req, err := ParseDeviceAuthorizationRequest(tc.auth, q)
		if tc.code != "" {
			if e, ok := As(err); !ok || e.Code != tc.code {
				t.Errorf("ParseDeviceAuthorizationRequest(%q) = %v, want %s", tc.form, err, tc.code)
			}
			continue
		}
		if err != nil || JoinScope(req.Scopes) != tc.scope || req.Client.ID != "tv" {
			t.Errorf("ParseDeviceAuthorizationRequest(%q) = %+v, %v; want client tv, scope %q", tc.form, req, err, tc.scope)
		}
	}
}
