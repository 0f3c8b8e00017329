package verify

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"
)

// dpopVectorsPath is the vector file shared with internal/token's tests
// (which generate it: go test ./internal/token -run TestDPoPSharedVectors
// -update). It is read by path, so verify never imports internal/.
const dpopVectorsPath = "../testdata/dpop/vectors.json"

// The file's format (a copy of internal/token/dpop_vectors_test.go's).
type dpopVectors struct {
	Now         int64        `json:"now"`
	Method      string       `json:"method"`
	URL         string       `json:"url"`
	AccessToken string       `json:"access_token"`
	Vectors     []dpopVector `json:"vectors"`
}

type dpopVector struct {
	Name  string `json:"name"`
	Proof string `json:"proof"`
	JKT   string `json:"jkt"`
	Valid bool   `json:"valid"`
}

// TestDPoPSharedVectors: a Verifier with the default configuration gives
// every shared vector the verdict Latch's token endpoint gives it, so a
// client using any algorithm Latch advertises gets tokens every
// verify-protected API accepts (issue 11 item 17: PS256 was advertised
// and accepted by Latch but refused here).
func TestDPoPSharedVectors(t *testing.T) {
	b, err := os.ReadFile(dpopVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f dpopVectors
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 10 {
		t.Fatalf("%d vectors in %s, want the full set", len(f.Vectors), dpopVectorsPath)
	}
	ti := newTestIssuer(t)
	v := ti.verifier(t, func(c *Config) { c.Now = func() time.Time { return time.Unix(f.Now, 0) } })
	for _, vec := range f.Vectors {
		err := v.checkProof(f.AccessToken, vec.Proof, f.Method, f.URL, vec.JKT)
		if got := err == nil; got != vec.Valid {
			t.Errorf("vector %q: checkProof() accepted = %v (err %v), want %v", vec.Name, got, err, vec.Valid)
		}
	}
}

// TestDefaultDPoPAlgorithms pins the default list: the algorithms Latch
// advertises (security TestDPoPDiscovery checks discovery's list is a
// subset of it), asymmetric only.
func TestDefaultDPoPAlgorithms(t *testing.T) {
	want := []string{"ES256", "EdDSA", "RS256", "PS256"}
	if got := DefaultDPoPAlgorithms(); !slices.Equal(got, want) {
		t.Errorf("DefaultDPoPAlgorithms() = %v, want %v", got, want)
	}
	for _, a := range DefaultDPoPAlgorithms() {
		if !slices.Contains(supportedAlgs, a) {
			t.Errorf("default DPoP algorithm %s is not in supportedAlgs", a)
		}
	}
}
