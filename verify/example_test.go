package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/verify"
)

// issuer is a stand-in for Latch: discovery, a JWKS, and a key to sign
// access tokens with.
type issuer struct {
	*httptest.Server
	signer jose.Signer
}

func startIssuer() *issuer {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: key.Public(), KeyID: "key-1", Algorithm: "ES256", Use: "sig"},
	}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jwks)
	})
	// RFC 9068 §2.1: typ at+jwt, and the kid of a published key.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "key-1"))
	if err != nil {
		log.Fatal(err)
	}
	return &issuer{Server: srv, signer: signer}
}

// mint issues an access token for sub with scope (RFC 9068 §2.2).
func (is *issuer) mint(sub, scope string) string {
	now := time.Now()
	token, err := jwt.Signed(is.signer).Claims(map[string]any{
		"iss":       is.URL,
		"sub":       sub,
		"aud":       "https://api.example.com",
		"client_id": "my-spa",
		"scope":     scope,
		"iat":       now.Unix(),
		"exp":       now.Add(5 * time.Minute).Unix(),
		"jti":       "b1f0c7",
	}).Serialize()
	if err != nil {
		log.Fatal(err)
	}
	return token
}

// Example starts a stand-in issuer serving discovery and a JWKS, mints
// an access token the way Latch does, and verifies it.
func Example() {
	ctx := context.Background()
	is := startIssuer()
	defer is.Close()
	token := is.mint("alice", "openid orders:read")

	// The resource server's side.
	v, err := verify.New(ctx, verify.Config{
		Issuer:   is.URL,
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.HasScope("orders:read"))

	_, err = v.Verify(ctx, token+"x")
	fmt.Println(errors.Is(err, verify.ErrSignature))
	// Output:
	// alice true
	// true
}

// ExampleVerifier_Middleware protects a handler with a required scope.
func ExampleVerifier_Middleware() {
	is := startIssuer()
	defer is.Close()
	v, err := verify.New(context.Background(), verify.Config{
		Issuer:   is.URL,
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware("orders:read")(orders))

	try := func(auth string) {
		r := httptest.NewRequest("GET", "/orders", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), strings.TrimSpace(rec.Body.String()))
	}
	try("")
	try("Bearer " + is.mint("alice", "profile"))
	try("Bearer " + is.mint("alice", "orders:read"))
	// Output:
	// 401 Bearer realm="https://api.example.com", scope="orders:read" {"error_description":"access token required"}
	// 403 Bearer realm="https://api.example.com", error="insufficient_scope", error_description="the token lacks a required scope", scope="orders:read" {"error":"insufficient_scope","error_description":"the token lacks a required scope"}
	// 200  orders of alice
}

// An MCP server (or any API) publishes RFC 9728 metadata so that a client
// knowing only its URL finds the authorization server: the 401 names the
// metadata, the metadata names the issuer.
func ExampleVerifier_ResourceMetadataHandler() {
	is := startIssuer()
	defer is.Close()
	v, err := verify.New(context.Background(), verify.Config{
		Issuer: is.URL,
		ResourceMetadata: &verify.ResourceMetadata{
			Resource: "https://mcp.example.com/mcp", ScopesSupported: []string{"mcp:tools"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+v.ResourceMetadataPath(), v.ResourceMetadataHandler())
	mux.Handle("/mcp", v.Middleware("mcp:tools")(http.NotFoundHandler()))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/mcp", nil))
	fmt.Println(rec.Code, rec.Header().Values("WWW-Authenticate")[0])

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil))
	var doc map[string]any
	json.Unmarshal(rec.Body.Bytes(), &doc)
	fmt.Println(doc["resource"], doc["scopes_supported"], doc["bearer_methods_supported"])
	// Output:
	// 401 Bearer realm="https://mcp.example.com/mcp", scope="mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	// https://mcp.example.com/mcp [mcp:tools] [header]
}
