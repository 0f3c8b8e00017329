package token

import (
	"testing"
)

// Benchmarks of the per-request work: no store access, no key decryption
// (keys are loaded once by newEnv), signers reused.

func BenchmarkSign(b *testing.B) {
	e := newEnv(b, RS256, ES256, EdDSA)
	ctx := b.Context()
	c := e.access()
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.keys.Sign(ctx, alg, TypeAccessToken, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAccessToken is a full verification (the verified-token
// cache off): parse, key lookup, signature, claims.
func BenchmarkVerifyAccessToken(b *testing.B) {
	e := newEnv(b, RS256, ES256, EdDSA)
	e.keys.verified = nil
	ctx := b.Context()
	for _, alg := range Algorithms() {
		raw := e.sign(b, alg, TypeAccessToken, e.access())
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAccessTokenCached is the same token verified again: a
// SHA-256 and a JSON decode (introspection and userinfo of a token seen
// before).
func BenchmarkVerifyAccessTokenCached(b *testing.B) {
	e := newEnv(b, ES256)
	ctx := b.Context()
	raw := e.sign(b, ES256, TypeAccessToken, e.access())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIDToken is the token endpoint's ID token work with the default
// algorithm (RS256): at_hash plus signing.
func BenchmarkIDToken(b *testing.B) {
	e := newEnv(b, RS256, ES256, EdDSA)
	ctx := b.Context()
	at := e.sign(b, "", TypeAccessToken, e.access())
	c := e.idClaims()
	b.ReportAllocs()
	for b.Loop() {
		c.AtHash = AtHash(e.keys.DefaultAlg(), at)
		if _, err := e.keys.Sign(ctx, "", TypeIDToken, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewOpaque(b *testing.B) {
	for b.Loop() {
		NewOpaque()
	}
}
