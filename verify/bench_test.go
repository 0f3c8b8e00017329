package verify

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkVerify measures a full verification (parse, key lookup,
// signature, claims) with the cache disabled.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			ti := newTestIssuer(b)
			k := ti.addKey(b, alg, "k-"+string(alg))
			v := ti.verifier(b, func(c *Config) { c.CacheSize = -1 })
			tok := mint(b, k, ti.claims())
			if _, err := v.Verify(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCached measures repeated verification of one token.
func BenchmarkVerifyCached(b *testing.B) {
	ti := newTestIssuer(b)
	k := ti.addKey(b, jose.ES256, "k")
	v := ti.verifier(b, nil)
	tok := mint(b, k, ti.claims())
	if _, err := v.Verify(b.Context(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel is BenchmarkVerifyCached from all CPUs.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	ti := newTestIssuer(b)
	k := ti.addKey(b, jose.ES256, "k")
	v := ti.verifier(b, nil)
	tok := mint(b, k, ti.claims())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(b.Context(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
