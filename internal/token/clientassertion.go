package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/internal/store"
)

// Client assertions: private_key_jwt client authentication (RFC 7523
// §2.2 and §3 as profiled by OIDC Core §9, with the audience rule of
// draft-ietf-oauth-rfc7523bis).
const (
	// ClientAssertionType is the only client_assertion_type accepted
	// (RFC 7523 §2.2).
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// MaxClientAssertionLifetime bounds how far ahead of now an
	// assertion's exp may be: the jti must be remembered until exp, so a
	// long-lived assertion would be a long-lived replay-cache entry, and
	// a stolen one a long-lived credential (RFC 7523 §3 item 4 lets the
	// server limit it).
	MaxClientAssertionLifetime = 5 * time.Minute
	// ClientAssertionLeeway absorbs clock differences between the client
	// and Latch when exp, nbf and iat are compared with now.
	ClientAssertionLeeway = 30 * time.Second

	maxClientAssertionLen = 16 << 10
	maxAssertionJTILen    = 256
	// MaxJWKSBytes bounds a client's JWK Set, inline or fetched.
	MaxJWKSBytes = 64 << 10
	maxJWKSKeys  = 32
	minRSABits   = 2048
)

// clientAssertionAccepted is the one list of algorithms a client
// assertion may be signed with: asymmetric only. It is what go-jose's
// parser is given, so "none" and HS* (which would need a shared secret)
// never reach a key, and what discovery advertises
// (ClientAssertionAlgorithms).
var clientAssertionAccepted = []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.RS256, jose.EdDSA}

// ClientAssertionAlgorithms lists the algorithms accepted in client
// assertions (token_endpoint_auth_signing_alg_values_supported, RFC 8414
// §2).
func ClientAssertionAlgorithms() []string {
	out := make([]string, len(clientAssertionAccepted))
	for i, a := range clientAssertionAccepted {
		out[i] = string(a)
	}
	return out
}

// ClientKeySet is a client's parsed JWK Set: public signature keys only.
type ClientKeySet struct {
	keys []jose.JSONWebKey
}

// Len is the number of keys.
func (s *ClientKeySet) Len() int { return len(s.keys) }

// ParseClientJWKS parses a client's JWK Set (RFC 7517 §5), as registered
// inline (jwks) or fetched from its jwks_uri. Every key must be a public
// RSA (≥ 2048 bits), EC P-256 or Ed25519 key; a private key, a symmetric
// key or an encryption-only key ("use":"enc") is refused, so a client
// can never register a key it would share with Latch. At most 32 keys
// and MaxJWKSBytes bytes. The error says what is wrong, for the
// administrator or developer who sent the set.
func ParseClientJWKS(data []byte) (*ClientKeySet, error) {
	if len(data) > MaxJWKSBytes {
		return nil, fmt.Errorf("the JWK Set is larger than %d bytes", MaxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set (RFC 7517 section 5): %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New(`the JWK Set has no keys: want {"keys":[...]} with at least one public key`)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("the JWK Set has %d keys, at most %d are allowed", len(set.Keys), maxJWKSKeys)
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("key %d (kid %q) is a private or symmetric key: register public keys only", i, k.KeyID)
		}
		if !k.Valid() {
			return nil, fmt.Errorf("key %d is not a valid JWK", i)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf(`key %d (kid %q) has "use":%q: client assertions need signature keys`, i, k.KeyID, k.Use)
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < minRSABits {
				return nil, fmt.Errorf("key %d (kid %q) is an RSA key shorter than %d bits", i, k.KeyID, minRSABits)
			}
		case *ecdsa.PublicKey:
			if pk.Curve.Params().Name != "P-256" {
				return nil, fmt.Errorf("key %d (kid %q) is on curve %s: only P-256 (ES256) is accepted", i, k.KeyID, pk.Curve.Params().Name)
			}
		case ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("key %d (kid %q) has an unsupported key type", i, k.KeyID)
		}
		if k.Algorithm != "" && !slices.Contains(ClientAssertionAlgorithms(), k.Algorithm) {
			return nil, fmt.Errorf("key %d (kid %q) has alg %q: want one of %v", i, k.KeyID, k.Algorithm, ClientAssertionAlgorithms())
		}
	}
	return &ClientKeySet{keys: set.Keys}, nil
}

// Errors of VerifyClientAssertion. Every failure is a
// *ClientAssertionError; one whose only problem is that no key of the
// set matches also wraps ErrAssertionKeyUnknown, so the caller may
// refresh a fetched key set once and retry.
var (
	ErrInvalidClientAssertion = errors.New("token: invalid client assertion")
	ErrAssertionKeyUnknown    = errors.New("token: no key of the client's JWK Set verifies the assertion")
)

// ClientAssertionError is a rejected assertion. Reason is a fixed,
// client-safe sentence (it never echoes the assertion); Err is the
// detailed cause, for logs.
type ClientAssertionError struct {
	Reason     string
	KeyUnknown bool
	Err        error
}

func (e *ClientAssertionError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s (%v)", ErrInvalidClientAssertion, e.Reason, e.Err)
	}
	return fmt.Sprintf("%v: %s", ErrInvalidClientAssertion, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidClientAssertion) hold for every
// ClientAssertionError and errors.Is(err, ErrAssertionKeyUnknown) for
// key misses.
func (e *ClientAssertionError) Is(target error) bool {
	return target == ErrInvalidClientAssertion || (e.KeyUnknown && target == ErrAssertionKeyUnknown)
}

func (e *ClientAssertionError) Unwrap() error { return e.Err }

func badAssertion(reason string, cause error) error {
	return &ClientAssertionError{Reason: reason, Err: cause}
}

// ClientAssertionCheck is what an assertion must match.
type ClientAssertionCheck struct {
	ClientID string    // iss and sub must both equal it (RFC 7523 §3 items 1, 2)
	Issuer   string    // Latch's issuer identifier: the only accepted aud
	Now      time.Time // zero: time.Now()
}

// ClientAssertion is a verified assertion.
type ClientAssertion struct {
	JTI string
	// Expires is exp plus the leeway: the jti must be remembered (single
	// use, RFC 7523 §3 item 7) until then.
	Expires time.Time
}

type assertionClaims struct {
	jwt.Claims
}

// UnverifiedAssertionSubject returns the sub claim of a client assertion
// WITHOUT verifying it, for looking up the client when the request has no
// client_id (RFC 7523 §3 item 2: sub is the client_id). It is a lookup
// key only: VerifyClientAssertion then checks everything, sub included.
func UnverifiedAssertionSubject(raw string) (string, error) {
	if len(raw) > maxClientAssertionLen {
		return "", badAssertion("the client_assertion is too large", nil)
	}
	tok, err := jwt.ParseSigned(raw, clientAssertionAccepted)
	if err != nil {
		return "", badAssertion(assertionShape, err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || c.Subject == "" {
		return "", badAssertion("the client_assertion has no sub claim: sub must be the client_id", err)
	}
	return c.Subject, nil
}

const assertionShape = "the client_assertion must be a compact JWS signed with ES256, PS256, RS256 or EdDSA"

// VerifyClientAssertion validates raw as a private_key_jwt client
// assertion (RFC 7523 §3, OIDC Core §9):
//
//   - one compact JWS signed with an algorithm of
//     ClientAssertionAlgorithms ("none" and HS* are refused by the
//     parser), verified with a key of keys (by kid when the header names
//     one, else every key of a matching type is tried);
//   - iss and sub both equal check.ClientID (items 1, 2);
//   - aud is exactly check.Issuer, as a string or a one-element array
//     (draft-ietf-oauth-rfc7523bis §4: the issuer identifier is the sole
//     audience). The token endpoint URL, formerly allowed by OIDC Core
//     §9, is refused: an assertion made for another server's endpoint
//     must never be accepted here;
//   - exp present, after now−leeway and at most
//     MaxClientAssertionLifetime+leeway ahead (item 4); nbf and iat, when
//     present, not after now+leeway (items 5, 6);
//   - jti present (item 7), at most 256 characters of store.ValidText.
//
// It does not remember the jti: the caller records it until Expires in a
// store shared by every instance, and refuses a second use.
func VerifyClientAssertion(raw string, keys *ClientKeySet, check ClientAssertionCheck) (ClientAssertion, error) {
	now := check.Now
	if now.IsZero() {
		now = time.Now()
	}
	if raw == "" {
		return ClientAssertion{}, badAssertion("client_assertion is required with client_assertion_type "+ClientAssertionType, nil)
	}
	if len(raw) > maxClientAssertionLen {
		return ClientAssertion{}, badAssertion("the client_assertion is too large", nil)
	}
	tok, err := jwt.ParseSigned(raw, clientAssertionAccepted)
	if err != nil {
		return ClientAssertion{}, badAssertion(assertionShape, err)
	}
	if len(tok.Headers) != 1 {
		return ClientAssertion{}, badAssertion("the client_assertion must have exactly one signature", nil)
	}
	h := tok.Headers[0]
	if keys == nil || len(keys.keys) == 0 {
		return ClientAssertion{}, &ClientAssertionError{Reason: "the client has no registered keys", KeyUnknown: true}
	}
	var c assertionClaims
	verified := false
	var lastErr error
	for _, k := range keys.keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if err := tok.Claims(k.Key, &c); err != nil {
			lastErr = err
			continue
		}
		verified = true
		break
	}
	if !verified {
		return ClientAssertion{}, &ClientAssertionError{
			Reason:     "the client_assertion signature does not verify with any key registered for the client (check kid, alg and the registered jwks or jwks_uri)",
			KeyUnknown: true, Err: lastErr,
		}
	}
	if c.Issuer != check.ClientID || c.Subject != check.ClientID {
		return ClientAssertion{}, badAssertion("the client_assertion iss and sub must both be the client_id", fmt.Errorf("iss %q sub %q", c.Issuer, c.Subject))
	}
	if len(c.Audience) != 1 || c.Audience[0] != check.Issuer {
		return ClientAssertion{}, badAssertion("the client_assertion aud must be the issuer identifier "+check.Issuer+" alone (draft-ietf-oauth-rfc7523bis), not the token endpoint URL", fmt.Errorf("aud %q", []string(c.Audience)))
	}
	if c.Expiry == nil {
		return ClientAssertion{}, badAssertion("the client_assertion has no exp claim", nil)
	}
	exp := c.Expiry.Time()
	if !exp.After(now.Add(-ClientAssertionLeeway)) {
		return ClientAssertion{}, badAssertion("the client_assertion has expired", fmt.Errorf("exp %d, now %d", exp.Unix(), now.Unix()))
	}
	if exp.After(now.Add(MaxClientAssertionLifetime + ClientAssertionLeeway)) {
		return ClientAssertion{}, badAssertion(fmt.Sprintf("the client_assertion exp is more than %v ahead: make assertions short-lived", MaxClientAssertionLifetime), fmt.Errorf("exp %d, now %d", exp.Unix(), now.Unix()))
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(ClientAssertionLeeway)) {
		return ClientAssertion{}, badAssertion("the client_assertion is not valid yet (nbf)", nil)
	}
	if c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(ClientAssertionLeeway)) {
		return ClientAssertion{}, badAssertion("the client_assertion iat is in the future", nil)
	}
	if c.ID == "" {
		return ClientAssertion{}, badAssertion("the client_assertion has no jti claim: each assertion needs a unique jti", nil)
	}
	if len(c.ID) > maxAssertionJTILen || !store.ValidText(c.ID) {
		return ClientAssertion{}, badAssertion("the client_assertion jti must be at most 256 characters of valid UTF-8 without NUL", nil)
	}
	return ClientAssertion{JTI: c.ID, Expires: exp.Add(ClientAssertionLeeway)}, nil
}
