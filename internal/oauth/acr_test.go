package oauth

import (
	"net/url"
	"slices"
	"testing"
)

func TestACRFor(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want string
	}{
		{nil, ""},
		{[]string{"pwd"}, ACRPassword},
		{[]string{"pwd", "otp", "mfa"}, ACRMFA},
		{[]string{"otp"}, ACRPassword}, // one factor, whatever it is
		{[]string{"hwk"}, ACRPhishingResistant},
	} {
		if got := ACRFor(tc.amr); got != tc.want {
			t.Errorf("ACRFor(%q) = %q, want %q", tc.amr, got, tc.want)
		}
	}
}

func TestACRSatisfies(t *testing.T) {
	for _, tc := range []struct {
		have string
		want []string
		ok   bool
	}{
		{ACRPassword, []string{ACRPassword}, true},
		{ACRPassword, []string{ACRMFA}, false},
		{ACRMFA, []string{ACRPassword}, true},
		{ACRMFA, []string{ACRMFA}, true},
		{ACRPassword, []string{ACRMFA, ACRPassword}, true}, // any one of them
		{ACRMFA, []string{ACRPhishingResistant}, false},
		{ACRMFA, []string{"urn:other:gold"}, false}, // unknown: never satisfied
		{"", []string{ACRPassword}, false},
	} {
		if got := ACRSatisfies(tc.have, tc.want); got != tc.ok {
			t.Errorf("ACRSatisfies(%q, %q) = %v, want %v", tc.have, tc.want, got, tc.ok)
		}
	}
	if got := MinACR([]string{"x", ACRMFA, ACRPhishingResistant}); got != ACRMFA {
		t.Errorf("MinACR = %q, want %q", got, ACRMFA)
	}
}

func TestParseACR(t *testing.T) {
	base := url.Values{"client_id": {"c"}, "response_type": {"code"}}
	for _, tc := range []struct {
		name      string
		acr       string
		claims    string
		want      []string
		essential bool
		bad       bool
	}{
		{name: "none"},
		{name: "acr_values", acr: ACRMFA + " " + ACRPassword, want: []string{ACRMFA, ACRPassword}},
		{name: "essential value", claims: `{"id_token":{"acr":{"essential":true,"value":"` + ACRMFA + `"}}}`, want: []string{ACRMFA}, essential: true},
		{name: "values and acr_values merged", acr: ACRMFA, claims: `{"id_token":{"acr":{"values":["` + ACRMFA + `","x"]}}}`, want: []string{ACRMFA, "x"}},
		{name: "other claims ignored", claims: `{"userinfo":{"email":null},"id_token":{"auth_time":{"essential":true}}}`},
		{name: "acr null", claims: `{"id_token":{"acr":null}}`},
		{name: "not json", claims: `{`, bad: true},
		{name: "acr wrong shape", claims: `{"id_token":{"acr":"x"}}`, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			if tc.acr != "" {
				q.Set("acr_values", tc.acr)
			}
			if tc.claims != "" {
				q.Set("claims", tc.claims)
			}
			req, err := ParseAuthorizeRequest(q)
			if tc.bad {
				if err == nil || err.(*Error).Code != InvalidRequest {
					t.Fatalf("ParseAuthorizeRequest(claims=%s) = %v, want invalid_request", tc.claims, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(req.ACRValues, tc.want) || req.ACREssential != tc.essential {
				t.Errorf("ACRValues, ACREssential = %q, %v; want %q, %v", req.ACRValues, req.ACREssential, tc.want, tc.essential)
			}
			// Query() round-trips them.
			again, err := ParseAuthorizeRequest(req.Query())
			if err != nil || !slices.Equal(again.ACRValues, req.ACRValues) || again.ACREssential != req.ACREssential {
				t.Errorf("round trip: %q, %v, %v", again.ACRValues, again.ACREssential, err)
			}
		})
	}
}
