package bff

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signingAlg is the JWS algorithm of key: ES256 for a P-256 ECDSA key,
// EdDSA for Ed25519. Other keys are refused: both sides of Latch accept
// these two (RFC 9449 §5 leaves the choice to the server's
// dpop_signing_alg_values_supported).
func signingAlg(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("bff: ECDSA keys must be P-256 (ES256)")
		}
		return jose.ES256, nil
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	}
	return "", errors.New("bff: the key must be an ECDSA P-256 or Ed25519 private key")
}

// DPoPKey makes DPoP proofs (RFC 9449 §4) with one private key; it
// implements DPoP. Every instance of a BFF sharing a session store must use
// the same key: the session's tokens are bound to it (cnf.jkt).
type DPoPKey struct {
	signer jose.Signer
	now    func() time.Time
}

var _ DPoP = (*DPoPKey)(nil)

// NewDPoPKey returns a DPoPKey for key (ECDSA P-256 or Ed25519). now is the
// clock of the proofs' iat; nil: time.Now.
func NewDPoPKey(key crypto.Signer, now func() time.Time) (*DPoPKey, error) {
	alg, err := signingAlg(key)
	if err != nil {
		return nil, err
	}
	// RFC 9449 §4.2: typ dpop+jwt, the public key as jwk in the header.
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &DPoPKey{signer: s, now: now}, nil
}

// Proof returns a proof for method and url (without query or fragment,
// RFC 9449 §4.2 htu), with ath (the access token's SHA-256) when
// accessToken is set and the server's nonce when set.
func (k *DPoPKey) Proof(_ context.Context, method, url, accessToken, nonce string) (string, error) {
	c := struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		ATH   string `json:"ath,omitempty"`
		Nonce string `json:"nonce,omitempty"`
	}{JTI: rand.Text(), HTM: method, HTU: url, IAT: k.now().Unix(), Nonce: nonce}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return jwt.Signed(k.signer).Claims(c).Serialize()
}

// PrivateKeyAssertion returns a Config.ClientAssertion for private_key_jwt
// (RFC 7523 §2.2 and §3, OIDC Core §9): a JWT signed with key (ECDSA
// P-256 or Ed25519; register its public key with the server under kid)
// with iss = sub = clientID, the given aud, a fresh jti, iat and a
// 60-second exp. now: the clock; nil: time.Now.
func PrivateKeyAssertion(clientID string, key crypto.Signer, kid string, now func() time.Time) (func(ctx context.Context, audience string) (string, error), error) {
	alg, err := signingAlg(key)
	if err != nil {
		return nil, err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return func(_ context.Context, audience string) (string, error) {
		t := now()
		return jwt.Signed(s).Claims(jwt.Claims{
			Issuer: clientID, Subject: clientID, Audience: jwt.Audience{audience}, ID: rand.Text(),
			IssuedAt: jwt.NewNumericDate(t), Expiry: jwt.NewNumericDate(t.Add(time.Minute)),
		}).Serialize()
	}, nil
}
