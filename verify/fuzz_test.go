package verify

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify: no input panics, every error is an *Error with
// invalid_token, and anything accepted carries the seed token's claims
// (mutations can only be accepted if they decode to the same signed
// bytes).
func FuzzVerify(f *testing.F) {
	ti := newTestIssuer(f)
	k := ti.addKey(f, jose.ES256, "k")
	valid := mint(f, k, ti.claims())
	f.Add(valid)
	f.Add(noneTokenF(ti.claims(), "k"))
	f.Add("a.b.c")
	f.Add("")
	f.Add(strings.Replace(valid, ".", "..", 1))
	v := ti.verifier(f, func(c *Config) { c.CacheSize = -1 })
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(t.Context(), raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidToken {
				t.Fatalf("Verify(%q) error = %#v, want *Error invalid_token", raw, err)
			}
			return
		}
		if c.Subject != "user-123" || c.Issuer != ti.issuer() {
			t.Fatalf("Verify(%q) accepted claims %+v not signed by the issuer", raw, c)
		}
	})
}

func noneTokenF(claims map[string]any, kid string) string {
	return b64([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+kid+`"}`)) + "." + b64(mustJSON(claims)) + "."
}

// FuzzParseAuthorization: the header parser never panics, accepts only
// b64tokens under a known scheme, and classifies every rejection.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "DPoP x==", "Basic dXNlcg==", "Bearer", "Bearer  a", "Bearer a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{}
		h.Set("Authorization", value)
		scheme, tok, err := parseAuthorization(h)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != "" && e.Code != CodeInvalidRequest) {
				t.Fatalf("parseAuthorization(%q) error = %#v", value, err)
			}
			return
		}
		if scheme != SchemeBearer && scheme != SchemeDPoP || !isB64Token(tok) || !strings.HasSuffix(value, tok) {
			t.Fatalf("parseAuthorization(%q) = %q, %q", value, scheme, tok)
		}
	})
}

// FuzzDPoPProof: arbitrary proofs never panic and are never accepted
// unless they are the seed proof itself (replays aside).
func FuzzDPoPProof(f *testing.F) {
	fx := newDPoPFixture(f)
	valid := fx.proof(f, fx.claims())
	f.Add(valid)
	f.Add("a.b.c")
	f.Add(strings.ToUpper(valid))
	f.Fuzz(func(t *testing.T, proof string) {
		err := fx.v.checkProof(fx.token, proof, http.MethodGet, apiURL, thumbprint(t, fx.client))
		if err == nil {
			return // the seed (first time) or a same-bytes re-encoding of it
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidDPoPProof {
			t.Fatalf("checkProof(%q) error = %#v, want invalid_dpop_proof", proof, err)
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
