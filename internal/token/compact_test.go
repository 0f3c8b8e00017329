package token

import (
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestCompactSignerMatchesGoJose: a token signed with the pre-serialised
// header (compactSigner) is, for every algorithm, what go-jose itself
// would produce: the same protected header bytes (alg, kid, typ), a
// signature go-jose verifies with the published key, and the claims
// intact.
func TestCompactSignerMatchesGoJose(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	s, err := e.keys.current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range Algorithms() {
		for _, typ := range []string{TypeAccessToken, TypeIDToken, ""} {
			raw := e.sign(t, alg, typ, e.access())
			ak := s.signing(alg, e.clock.Now())
			// What go-jose writes for this key and typ.
			opts := (&jose.SignerOptions{}).WithHeader("kid", ak.kid)
			if typ != "" {
				opts = opts.WithType(jose.ContentType(typ))
			}
			sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: ak.priv}, opts)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := sg.Sign([]byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.CompactSerialize()
			if got, want := raw[:strings.IndexByte(raw, '.')], want[:strings.IndexByte(want, '.')]; got != want {
				t.Errorf("%s %q: header %s, want go-jose's %s", alg, typ, got, want)
			}
			jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatalf("%s %q: go-jose cannot parse %s: %v", alg, typ, raw, err)
			}
			payload, err := jws.Verify(s.public[ak.kid].key)
			if err != nil {
				t.Fatalf("%s %q: go-jose does not verify the signature: %v", alg, typ, err)
			}
			var got AccessClaims
			if err := json.Unmarshal(payload, &got); err != nil || got.GrantID != "grant-1" || got.Subject != "user-1" {
				t.Errorf("%s %q: payload %s (%v), want the claims signed", alg, typ, payload, err)
			}
			// A flipped signature bit is refused (the signature covers
			// header and payload).
			b := []byte(raw)
			b[len(b)-3] ^= 'A' ^ 'B'
			if jws, err := jose.ParseSigned(string(b), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}); err == nil {
				if _, err := jws.Verify(s.public[ak.kid].key); err == nil {
					t.Errorf("%s %q: a tampered signature verified", alg, typ)
				}
			}
		}
	}
}
