package token_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/token"
)

// fuzzNow is the clock of FuzzParseDPoPProof; the committed seeds in
// testdata/fuzz/FuzzParseDPoPProof were signed with iat = fuzzNow.
var fuzzNow = time.Unix(1_750_000_000, 0)

const fuzzHTU = "https://id.example.com/token"

// FuzzParseDPoPProof: whatever the input, ParseDPoPProof never panics;
// a refusal is a *DPoPError wrapping ErrInvalidDPoPProof with a reason;
// an acceptance has a well-formed thumbprint and jti, an iat inside the
// window, is deterministic, and never happens for an unsigned or HMAC
// proof.
func FuzzParseDPoPProof(f *testing.F) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA} {
		k := latchtest.NewDPoPKey(f, alg)
		f.Add(k.Proof(f, "POST", fuzzHTU, fuzzNow, nil), "POST", "")
		f.Add(k.Proof(f, "GET", fuzzHTU+"?q#f", fuzzNow, map[string]any{"ath": latchtest.ATH("at"), "nonce": "n"}), "GET", "at")
	}
	f.Add("", "POST", "")
	f.Add("a.b.c", "POST", "")
	f.Add(latchtest.UnsignedJWT(f, map[string]any{"alg": "none", "typ": "dpop+jwt"}, map[string]any{"jti": "j", "htm": "POST", "htu": fuzzHTU, "iat": fuzzNow.Unix()}), "POST", "")
	window := token.DefaultDPoPWindow + token.DefaultDPoPLeeway
	f.Fuzz(func(t *testing.T, raw, method, accessToken string) {
		check := token.DPoPCheck{Method: method, URL: fuzzHTU, AccessToken: accessToken, Now: fuzzNow}
		p, err := token.ParseDPoPProof(raw, check)
		if err != nil {
			var de *token.DPoPError
			if !errors.As(err, &de) || de.Reason == "" || !errors.Is(err, token.ErrInvalidDPoPProof) {
				t.Fatalf("error %v is not a *DPoPError with a reason wrapping ErrInvalidDPoPProof", err)
			}
			return
		}
		if jkt, err := base64.RawURLEncoding.DecodeString(p.JKT); err != nil || len(jkt) != 32 {
			t.Errorf("JKT %q is not a base64url SHA-256 thumbprint", p.JKT)
		}
		if p.JTI == "" || len(p.JTI) > 256 {
			t.Errorf("accepted jti of length %d", len(p.JTI))
		}
		if d := p.IssuedAt.Sub(fuzzNow); d > window || d < -window {
			t.Errorf("accepted iat %v, %v from now", p.IssuedAt, d)
		}
		if method == "" {
			t.Errorf("accepted a proof for an empty method")
		}
		if hdr, _, ok := strings.Cut(raw, "."); ok {
			if b, err := base64.RawURLEncoding.DecodeString(hdr); err == nil && (strings.Contains(string(b), `"none"`) || strings.Contains(string(b), `"HS`)) {
				t.Errorf("accepted a proof whose header is %s", b)
			}
		}
		again, err := token.ParseDPoPProof(raw, check)
		if err != nil || again != p {
			t.Errorf("second parse = %+v, %v; first %+v", again, err, p)
		}
	})
}
