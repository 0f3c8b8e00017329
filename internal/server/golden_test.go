package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// update rewrites testdata/golden (go test ./internal/server -run Golden -update),
// as in internal/ui and cmd/latch.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Golden files pin what other software parses (STYLE habit 8): the
// discovery document, the JWKS and the claims of access and ID tokens. A
// change to any of them is a change for every client and resource server,
// so it must show up in review as a diff of testdata/golden.
//
// Values that differ from run to run are normalised before comparison:
//   - the issuer (a random httptest port) becomes {issuer};
//   - key material (kid, x, y, n; not e, kty, crv, alg, use) becomes
//     <kid>, <x>, …: the golden file fixes the shape, not the key;
//   - jti, sid, gid (the grant id), at_hash and c_hash become <jti>, …;
//   - the times iat, nbf, exp and auth_time become offsets from iat
//     ("iat", "iat+300"), so lifetimes stay pinned. The test clock is
//     fixed, so the offsets are exact.

func TestGoldenDiscovery(t *testing.T) {
	e := latchtest.Start(t)
	goldenJSON(t, e, "discovery.json", getJSON(t, e.Issuer+"/.well-known/openid-configuration"))
}

// TestGoldenDiscoveryRegistration: with client ID metadata documents
// and dynamic registration on, discovery gains exactly
// client_id_metadata_document_supported and registration_endpoint.
func TestGoldenDiscoveryRegistration(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) { c.CIMDPolicy = "allow-all"; c.Registration = "open" })
	goldenJSON(t, e, "discovery_registration.json", getJSON(t, e.Issuer+"/.well-known/openid-configuration"))
}

// TestGoldenJWKS pins the JWKS: one public key per signing algorithm
// (each client may pick its ID token algorithm), whichever one signs
// access tokens. The keys are sorted by alg first: their order in the
// set follows creation time, which ties at startup, and means nothing
// to a client (RFC 7517 §5; keys are chosen by kid).
func TestGoldenJWKS(t *testing.T) {
	e := latchtest.Start(t)
	jwks := normalise(getJSON(t, e.Issuer+"/jwks.json"))
	keys, _ := jwks["keys"].([]any)
	slices.SortFunc(keys, func(a, b any) int {
		return strings.Compare(fmt.Sprint(a.(map[string]any)["alg"]), fmt.Sprint(b.(map[string]any)["alg"]))
	})
	goldenJSON(t, e, "jwks.json", jwks)
}

// TestGoldenTokenClaims pins the header and claims of the tokens a user's
// Authorization Code flow (spa, openid profile email offline_access)
// issues, and of a client_credentials access token.
func TestGoldenTokenClaims(t *testing.T) {
	e := latchtest.Start(t)
	ctx := latchtest.ClientContext(t.Context())
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess)
	verifier := oauth2.GenerateVerifier()
	q := e.Browser().SignIn(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1")))
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		t.Fatal("no id_token in the token response")
	}
	goldenJSON(t, e, "access_token_code.json", jwtParts(t, tok.AccessToken))
	goldenJSON(t, e, "id_token_code.json", jwtParts(t, idToken))

	e.MustClient(store.Client{
		ID: "service", Name: "Service", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"api:read"}, Audiences: []string{"https://api.example"},
	})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/token",
		strings.NewReader("grant_type=client_credentials&scope=api%3Aread"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("service", e.Secrets["service"])
	resp, body := e.DoJSON(req)
	at, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || at == "" {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, body)
	}
	goldenJSON(t, e, "access_token_client_credentials.json", jwtParts(t, at))
}

// getJSON fetches u and decodes its JSON body.
func getJSON(t *testing.T, u string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return m
}

// jwtParts returns the normalised header and claims of a compact JWS.
func jwtParts(t *testing.T, raw string) map[string]any {
	t.Helper()
	header, claims := latchtest.DecodeJWT(t, raw)
	return map[string]any{"header": normalise(header), "claims": normalise(claims)}
}

// Volatile members, replaced by a placeholder wherever they occur.
var (
	placeholders = map[string]bool{"kid": true, "x": true, "y": true, "n": true, "jti": true, "sid": true, "at_hash": true, "c_hash": true, "gid": true}
	times        = []string{"iat", "nbf", "exp", "auth_time"}
)

// normalise replaces the volatile values of a JSON object (and of the
// objects it contains) as the comment at the top of this file says.
func normalise(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			out[k] = normalise(v)
		case []any:
			list := make([]any, len(v))
			for i, x := range v {
				if o, ok := x.(map[string]any); ok {
					list[i] = normalise(o)
				} else {
					list[i] = x
				}
			}
			out[k] = list
		default:
			if placeholders[k] {
				out[k] = "<" + k + ">"
			} else {
				out[k] = v
			}
		}
	}
	if iat, ok := m["iat"].(float64); ok {
		for _, k := range times {
			if v, ok := m[k].(float64); ok {
				out[k] = fmt.Sprintf("iat%+d", int64(v-iat))
				if k == "iat" {
					out[k] = "iat"
				}
			}
		}
	}
	return out
}

// goldenJSON compares v, as indented JSON with e's issuer replaced by
// {issuer}, with testdata/golden/name; -update rewrites the file.
func goldenJSON(t *testing.T, e *latchtest.Env, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(buf.String(), e.Issuer, "{issuer}")
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/server -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
