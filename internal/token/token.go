// Package token issues and checks Latch's tokens: JWT access tokens
// (RFC 9068), ID tokens (OIDC Core §2), the JWKS, signing-key generation
// and rotation with private keys encrypted at rest, and the opaque secrets
// (codes, refresh tokens, session ids) that are stored only as hashes. It is
// the only package of the server that imports go-jose.
package token

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
)

// Signing algorithms Latch supports.
const (
	RS256 = "RS256" // RSA 2048, the one every client must support
	ES256 = "ES256" // P-256
	EdDSA = "EdDSA" // Ed25519
)

// Algorithms lists every supported signing algorithm.
func Algorithms() []string { return []string{RS256, ES256, EdDSA} }

// Token types (JOSE typ header).
const (
	TypeAccessToken = "at+jwt" // RFC 9068 §2.1
	TypeIDToken     = "JWT"
)

// KeyStore is the part of store.Store that key management needs.
type KeyStore interface {
	CreateKey(ctx context.Context, k store.SigningKey) error
	ListKeys(ctx context.Context) ([]store.SigningKey, error)
	ActivateKey(ctx context.Context, id string, now time.Time) error
	DeleteKey(ctx context.Context, id string) error
}

// KeysConfig configures Keys.
type KeysConfig struct {
	Store  KeyStore
	Sealer *seal.Sealer // encrypts private keys at rest
	// Algs are the algorithms kept with an active key; Algs[0] is the
	// default, used for access tokens and for ID tokens unless a client
	// asks otherwise. Empty: RS256, ES256, EdDSA with RS256 default.
	Algs []string
	Now  func() time.Time
	// RetiredTTL is how long a retired key stays published in the JWKS
	// (the longest token lifetime plus leeway).
	RetiredTTL time.Duration
	// RefreshInterval bounds how long a rotation made by another instance
	// takes to be seen here; default 30 s. An unknown kid on verification
	// also triggers a reload (at most once a second).
	RefreshInterval time.Duration
	Logger          *slog.Logger
}

// KeyInfo describes one key for listings (latch keys list).
type KeyInfo struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	Status    string    `json:"status"` // active, published (retired, still in JWKS), expired
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// PublishedUntil is when a retired key leaves the JWKS.
	PublishedUntil time.Time `json:"published_until,omitzero"`
}

// Keys holds the signing keys in memory (private keys decrypted once per
// load, never per request) and signs and verifies JWTs. Safe for
// concurrent use.
type Keys struct {
	// unexported fields
}

// NewKeys returns a Keys; call Ensure or Load before signing.
func NewKeys(cfg KeysConfig) (*Keys, error) {
	panic("unimplemented")
}

// Ensure creates and activates a key for every configured algorithm that
// has no active key, then loads. Safe when several instances start at once
// (at worst one extra key is created and immediately retired).
func (k *Keys) Ensure(ctx context.Context) error {
	panic("unimplemented")
}

// Load reloads keys from the store and decrypts the active private keys.
func (k *Keys) Load(ctx context.Context) error {
	panic("unimplemented")
}

// Rotate creates a new key for alg ("" means the default), activates it
// (the previous one of that alg is retired but stays published for
// RetiredTTL) and reloads.
func (k *Keys) Rotate(ctx context.Context, alg string) (KeyInfo, error) {
	panic("unimplemented")
}

// List describes every stored key, newest first.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	panic("unimplemented")
}

// Prune deletes keys that are retired and no longer published.
func (k *Keys) Prune(ctx context.Context) (int, error) {
	panic("unimplemented")
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of every published
// public key: active keys and retired keys within RetiredTTL. Each key has
// kid, alg and use "sig".
func (k *Keys) JWKS(ctx context.Context) ([]byte, error) {
	panic("unimplemented")
}

// DefaultAlg is Algs[0].
func (k *Keys) DefaultAlg() string {
	panic("unimplemented")
}

// Supports reports whether alg has an active key.
func (k *Keys) Supports(alg string) bool {
	panic("unimplemented")
}

// Sign signs claims (marshalled with encoding/json) with the active key
// for alg ("" = default), with the typ header and the key's kid.
func (k *Keys) Sign(ctx context.Context, alg, typ string, claims any) (string, error) {
	panic("unimplemented")
}

// Verify checks raw's signature against the published keys (only the
// algorithms Latch supports are accepted; "none" and HMAC never are),
// checks that the typ header equals typ (case-insensitively, with or
// without the "application/" prefix), and unmarshals the payload into
// claims. It does not check any claim: see VerifyAccessToken.
func (k *Keys) Verify(ctx context.Context, raw, typ string, claims any) error {
	panic("unimplemented")
}

// Confirmation is the cnf claim (RFC 7800, RFC 9449 §6.1).
type Confirmation struct {
	JKT string `json:"jkt"`
}

// AccessClaims are the claims of a JWT access token (RFC 9068 §2.2).
type AccessClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  []string      `json:"aud"`
	ClientID  string        `json:"client_id"`
	Scope     string        `json:"scope,omitempty"`
	IssuedAt  int64         `json:"iat"`
	ExpiresAt int64         `json:"exp"`
	ID        string        `json:"jti"`
	AuthTime  int64         `json:"auth_time,omitempty"`
	AMR       []string      `json:"amr,omitempty"`
	GrantID   string        `json:"gid,omitempty"` // the grant (token family) it belongs to
	Cnf       *Confirmation `json:"cnf,omitempty"`
}

// VerifyAccessToken verifies a Latch access token: signature (Verify with
// TypeAccessToken), iss equal to issuer, exp after now, iat not in the
// future beyond leeway. It does not check audience, scope or revocation.
func (k *Keys) VerifyAccessToken(ctx context.Context, raw, issuer string, leeway time.Duration) (AccessClaims, error) {
	panic("unimplemented")
}

// IDClaims are the claims of an ID token (OIDC Core §2, §5.1).
type IDClaims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	Audience          string   `json:"aud"`
	ExpiresAt         int64    `json:"exp"`
	IssuedAt          int64    `json:"iat"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	AtHash            string   `json:"at_hash,omitempty"`
	AZP               string   `json:"azp,omitempty"`
	SID               string   `json:"sid,omitempty"`
	AMR               []string `json:"amr,omitempty"`
	Name              string   `json:"name,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	EmailVerified     *bool    `json:"email_verified,omitempty"`
}

// ParseIDTokenHint verifies an id_token_hint for RP-Initiated Logout:
// signature by a published key and iss equal to issuer. Expiry is NOT
// checked (OIDC RP-Initiated Logout §2 accepts expired hints).
func (k *Keys) ParseIDTokenHint(ctx context.Context, raw, issuer string) (IDClaims, error) {
	panic("unimplemented")
}

// AtHash computes at_hash for accessToken signed with alg (OIDC Core
// §3.1.3.6): base64url of the left half of the hash (SHA-256 for RS256 and
// ES256, SHA-512 for EdDSA/Ed25519).
func AtHash(alg, accessToken string) string {
	panic("unimplemented")
}
