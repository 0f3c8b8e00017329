package oauth

import (
	"encoding/json"
	"os"
	"testing"
)

// loopbackVectors are shared with verify's copy of the rule: the file
// lives with verify, which may become its own module, and is read here
// from the same checkout.
const loopbackVectors = "../../verify/testdata/loopback.json"

func TestIsLoopbackHostVectors(t *testing.T) {
	b, err := os.ReadFile(loopbackVectors)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Host     string `json:"host"`
			Loopback bool   `json:"loopback"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", loopbackVectors, err)
	}
	if len(file.Vectors) < 20 {
		t.Fatalf("%s: %d vectors, want the full set", loopbackVectors, len(file.Vectors))
	}
	for _, v := range file.Vectors {
		if got := IsLoopbackHost(v.Host); got != v.Loopback {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", v.Host, got, v.Loopback)
		}
	}
}
