package oauth

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Authentication method references (RFC 8176 §2) Latch puts in amr.
const (
	AMRPassword = "pwd" // a password
	AMROTP      = "otp" // a one-time password (TOTP, RFC 6238; or a recovery code)
	AMRMFA      = "mfa" // more than one factor (added beside the factors used)
	AMRHardware = "hwk" // proof of possession of a hardware-secured key (passkey)
	AMRSoftware = "swk" // proof of possession of a software-secured key (synced passkey)
	// AMRFederated: the user signed in at an upstream OpenID Provider
	// (federation). Not in the RFC 8176 registry; Latch's own value, as
	// several providers use it. It counts as one factor (ACRFor).
	AMRFederated = "fed"
)

// Authentication context class references (OIDC Core §2 "acr") Latch
// emits, weakest first. Each is satisfied by a session of its level or a
// stronger one; the levels are Latch's own (docs/authentication.md).
const (
	ACRPassword = "urn:latch:acr:pwd" // one factor: a password
	ACRMFA      = "urn:latch:acr:mfa" // two factors: a password and a second one
	// ACRPhishingResistant is a sign-in that cannot be phished (a
	// passkey: WebAuthn binds it to Latch's origin).
	ACRPhishingResistant = "urn:latch:acr:phr"
)

// acrLevels orders the ACR values; a value's index is its strength.
var acrLevels = []string{ACRPassword, ACRMFA, ACRPhishingResistant}

// ACRsSupported are the acr values a request may ask for
// (acr_values_supported): those Latch can produce, phr only when
// passkeys are on.
func ACRsSupported(passkeys bool) []string {
	if passkeys {
		return []string{ACRPassword, ACRMFA, ACRPhishingResistant}
	}
	return []string{ACRPassword, ACRMFA}
}

// ACRFor is the acr of a sign-in that used the methods amr: phr for a
// passkey (hwk or swk), mfa when amr has "mfa", pwd for anything else
// with a method; "" for none (client credentials).
func ACRFor(amr []string) string {
	switch {
	case len(amr) == 0:
		return ""
	case slices.Contains(amr, AMRHardware) || slices.Contains(amr, AMRSoftware):
		return ACRPhishingResistant
	case slices.Contains(amr, AMRMFA):
		return ACRMFA
	}
	return ACRPassword
}

// ACRLevel is the strength of an acr value Latch knows (0 for pwd), or
// -1 for any other value.
func ACRLevel(acr string) int { return slices.Index(acrLevels, acr) }

// ACRSatisfies reports whether a sign-in of acr have satisfies a request
// for any of want (OIDC Core §3.1.2.1 acr_values: in order of preference,
// one suffices). Unknown values in want are ignored; when want holds no
// known value at all, nothing satisfies it (the caller answers
// unmet_authentication_requirements rather than guess).
func ACRSatisfies(have string, want []string) bool {
	h := ACRLevel(have)
	if h < 0 {
		return false
	}
	for _, w := range want {
		if l := ACRLevel(w); l >= 0 && h >= l {
			return true
		}
	}
	return false
}

// MinACR is the weakest level among the known values of want, or "" when
// want holds none: the level a step-up has to reach.
func MinACR(want []string) string {
	best := -1
	for _, w := range want {
		if l := ACRLevel(w); l >= 0 && (best < 0 || l < best) {
			best = l
		}
	}
	if best < 0 {
		return ""
	}
	return acrLevels[best]
}

// maxACRValues bounds the acr values of one request.
const maxACRValues = 16

// parseACR reads the acr values a request asks for: acr_values, space
// separated (OIDC Core §3.1.2.1), then the claims parameter's
// id_token.acr member (§5.5.1): {"essential": true, "value": v} or
// {"values": [...]} (§5.5.1.1). Other members of claims are accepted and
// ignored (Latch releases claims by scope; a requested claim that is not
// released is allowed to be absent, §5.5.1). A claims value that is not a
// JSON object, or an acr member of the wrong shape, is invalid_request.
func parseACR(q url.Values) ([]string, bool, *Error) {
	raw, e := single(q, "acr_values", maxAuthorizeParamLen)
	if e != nil {
		return nil, false, e
	}
	var out []string
	for v := range strings.FieldsSeq(raw) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	claims, e := single(q, "claims", maxAuthorizeParamLen)
	if e != nil {
		return nil, false, e
	}
	essential := false
	if claims != "" {
		var c struct {
			IDToken map[string]json.RawMessage `json:"id_token"`
		}
		if err := json.Unmarshal([]byte(claims), &c); err != nil {
			return nil, false, Errorf(InvalidRequest, "parameter claims must be a JSON object (OIDC Core section 5.5)")
		}
		if m, ok := c.IDToken["acr"]; ok && string(m) != "null" {
			var acr struct {
				Essential bool     `json:"essential"`
				Value     string   `json:"value"`
				Values    []string `json:"values"`
			}
			if err := json.Unmarshal(m, &acr); err != nil {
				return nil, false, Errorf(InvalidRequest, `parameter claims: id_token.acr must be null or an object like {"essential":true,"values":["%s"]}`, ACRMFA)
			}
			essential = acr.Essential
			for _, v := range append([]string{acr.Value}, acr.Values...) {
				if v != "" && !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
	}
	if len(out) > maxACRValues {
		return nil, false, Errorf(InvalidRequest, "at most %d acr values may be requested", maxACRValues)
	}
	return out, essential, nil
}
