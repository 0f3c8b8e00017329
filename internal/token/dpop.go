package token

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/internal/store"
)

// DPoP proofs (RFC 9449).
const (
	// TypeDPoPProof is the typ header of a DPoP proof (RFC 9449 §4.2).
	TypeDPoPProof = "dpop+jwt"
	PS256         = "PS256" // accepted in DPoP proofs only; Latch does not sign with it

	// DefaultDPoPWindow is how far a proof's iat may be from now, either
	// way, before leeway (RFC 9449 §11.1: "a relatively short period").
	// Both ways, because browsers' clocks drift; servers that need
	// freshness independent of client clocks turn on nonces (§8).
	DefaultDPoPWindow = 60 * time.Second
	// DefaultDPoPLeeway absorbs clock differences between server instances.
	DefaultDPoPLeeway = 5 * time.Second

	// Bounds on what is parsed and stored: a proof with an RSA-4096 jwk
	// is about 2 KiB.
	maxDPoPProofLen = 8 << 10
	maxDPoPJTILen   = 256
	maxDPoPNonceLen = 256
	minDPoPRSABits  = 2048
)

// dpopAccepted is the one list of algorithms accepted in DPoP proofs:
// asymmetric only (RFC 9449 §4.2, §4.3 step 5). It is what go-jose's
// parser is given, so "none" and HS* proofs never reach a key, and what
// discovery advertises (DPoPAlgorithms). The verify package accepts the
// same by default; testdata/dpop/vectors.json at the module root holds
// proofs both sides' tests must judge alike.
var dpopAccepted = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256}

// DPoPAlgorithms lists the algorithms accepted in DPoP proofs, for
// dpop_signing_alg_values_supported (RFC 9449 §5.1) and the algs
// challenge parameter (§7.1).
func DPoPAlgorithms() []string {
	out := make([]string, len(dpopAccepted))
	for i, a := range dpopAccepted {
		out[i] = string(a)
	}
	return out
}

// Errors of ParseDPoPProof. Every failure is a *DPoPError wrapping
// ErrInvalidDPoPProof; a missing or stale nonce also wraps ErrDPoPNonce.
var (
	ErrInvalidDPoPProof = errors.New("token: invalid DPoP proof")
	ErrDPoPNonce        = errors.New("token: DPoP nonce missing or stale")
)

// DPoPError is a rejected proof. Reason is a fixed, client-safe sentence
// (it never echoes the proof); Err is the detailed cause, for logs.
type DPoPError struct {
	Reason string
	Nonce  bool // the only problem is the nonce (RFC 9449 §8: use_dpop_nonce)
	Err    error
}

func (e *DPoPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s (%v)", ErrInvalidDPoPProof, e.Reason, e.Err)
	}
	return fmt.Sprintf("%v: %s", ErrInvalidDPoPProof, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidDPoPProof) hold for every DPoPError
// and errors.Is(err, ErrDPoPNonce) for nonce failures.
func (e *DPoPError) Is(target error) bool {
	return target == ErrInvalidDPoPProof || (e.Nonce && target == ErrDPoPNonce)
}

func (e *DPoPError) Unwrap() error { return e.Err }

func badProof(reason string, cause error) error {
	return &DPoPError{Reason: reason, Err: cause}
}

// DPoPCheck is what a proof must match.
type DPoPCheck struct {
	Method string // the request's method: htm must equal it (§4.3 step 8)
	// URL is the endpoint's URL: htu must equal it once both are
	// normalised; query and fragment are ignored (§4.3 step 9).
	URL string
	// AccessToken, when not empty, is the token presented with the proof:
	// ath must be base64url(SHA-256(AccessToken)) (§4.3 step 12). When
	// empty, ath is not checked.
	AccessToken string
	Now         time.Time     // the current time; zero means time.Now()
	Window      time.Duration // iat within ±Window(+Leeway) of Now; zero: DefaultDPoPWindow
	Leeway      time.Duration // zero: DefaultDPoPLeeway; negative: none
	// Nonce, when not nil, must accept the proof's nonce claim (§4.3
	// step 10, §8); a missing or refused nonce fails with ErrDPoPNonce.
	// When nil, a nonce claim is ignored.
	Nonce func(nonce string) bool
}

// DPoPProof is a validated proof.
type DPoPProof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's public key,
	// base64url (RFC 9449 §6.1 cnf.jkt).
	JKT      string
	JTI      string
	IssuedAt time.Time
	// Expires is when the proof stops being acceptable: a replay cache
	// must remember JTI (per JKT) until then (§11.1).
	Expires time.Time
}

// proofClaims is the payload of a DPoP proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI      string           `json:"jti"`
	HTM      string           `json:"htm"`
	HTU      string           `json:"htu"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ATH      string           `json:"ath"`
	Nonce    *string          `json:"nonce"`
}

// ParseDPoPProof validates raw as a DPoP proof for check (RFC 9449 §4.3):
//
//   - a single JWS in compact form, alg from DPoPAlgorithms (asymmetric
//     only: "none" and HS* are refused by the parser), typ "dpop+jwt";
//   - a jwk header holding a public key (a private part is refused), RSA
//     keys of at least 2048 bits, whose alg, if it names one, is the
//     header's; the signature verifies under that key;
//   - jti (at most 256 characters, no NUL), htm, htu and iat present; htm equals
//     check.Method exactly; htu equals check.URL after normalisation of
//     scheme, host, default port and empty path, ignoring query and
//     fragment;
//   - iat within ±(Window+Leeway) of Now;
//   - ath when check.AccessToken is set; nonce when check.Nonce is set.
//
// It does not remember jtis: the caller records JKT+JTI until Expires in
// a replay cache shared by every instance (§11.1). It does not compare
// the key with any binding (cnf.jkt, dpop_jkt); the caller does, with JKT.
func ParseDPoPProof(raw string, check DPoPCheck) (DPoPProof, error) {
	now := check.Now
	if now.IsZero() {
		now = time.Now()
	}
	window, leeway := check.Window, check.Leeway
	if window <= 0 {
		window = DefaultDPoPWindow
	}
	switch {
	case leeway == 0:
		leeway = DefaultDPoPLeeway
	case leeway < 0:
		leeway = 0
	}
	if raw == "" {
		return DPoPProof{}, badProof("missing DPoP proof", nil)
	}
	if len(raw) > maxDPoPProofLen {
		return DPoPProof{}, badProof("the DPoP proof is too large", nil)
	}
	// §4.3 steps 2 and 5: one well-formed JWS with an allowed alg.
	tok, err := jwt.ParseSigned(raw, dpopAccepted)
	if err != nil {
		return DPoPProof{}, badProof("the DPoP proof is not a well-formed JWT with an asymmetric algorithm and a public jwk", err)
	}
	if len(tok.Headers) != 1 {
		return DPoPProof{}, badProof("the DPoP proof must have exactly one signature", nil)
	}
	h := tok.Headers[0]
	// §4.3 step 4: explicit typing (RFC 8725 §3.11).
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); normalizeTyp(typ) != TypeDPoPProof {
		return DPoPProof{}, badProof("the DPoP proof typ must be dpop+jwt", nil)
	}
	// §4.3 step 7: the jwk is a public key. go-jose already refuses an
	// embedded jwk with private parts at parse time; this is the second
	// line of defence.
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return DPoPProof{}, badProof("the DPoP proof must carry a public jwk", nil)
	}
	if jwk.Algorithm != "" && jwk.Algorithm != h.Algorithm {
		return DPoPProof{}, badProof("the DPoP proof jwk alg does not match the header alg", nil)
	}
	if k, ok := jwk.Key.(*rsa.PublicKey); ok && k.N.BitLen() < minDPoPRSABits {
		return DPoPProof{}, badProof("the DPoP proof RSA key is shorter than 2048 bits", nil)
	}
	// §4.3 step 6: the signature verifies under the embedded key.
	var payload json.RawMessage
	if err := tok.Claims(jwk.Key, &payload); err != nil {
		return DPoPProof{}, badProof("the DPoP proof signature does not verify with its jwk", err)
	}
	var pc proofClaims
	if err := json.Unmarshal(payload, &pc); err != nil {
		return DPoPProof{}, badProof("the DPoP proof claims are malformed", err)
	}
	// §4.3 step 3: required claims.
	if pc.JTI == "" || pc.HTM == "" || pc.HTU == "" || pc.IssuedAt == nil {
		return DPoPProof{}, badProof("the DPoP proof lacks jti, htm, htu or iat", nil)
	}
	if len(pc.JTI) > maxDPoPJTILen {
		return DPoPProof{}, badProof("the DPoP proof jti is too long", nil)
	}
	// The caller stores the jti (replay cache): refuse what a store cannot
	// hold (JSON can carry a NUL as \u0000) as bad input, here at the edge.
	if !store.ValidText(pc.JTI) {
		return DPoPProof{}, badProof("the DPoP proof jti contains a NUL byte or invalid UTF-8", nil)
	}
	// §4.3 step 8: methods are case-sensitive (RFC 9110 §9.1).
	if pc.HTM != check.Method {
		return DPoPProof{}, badProof("the DPoP proof htm does not match the request method", nil)
	}
	// §4.3 step 9.
	got, err := NormalizeHTU(pc.HTU)
	if err != nil {
		return DPoPProof{}, badProof("the DPoP proof htu does not match the request URL", err)
	}
	want, err := NormalizeHTU(check.URL)
	if err != nil {
		return DPoPProof{}, badProof("the DPoP proof htu does not match the request URL", fmt.Errorf("endpoint URL: %w", err))
	}
	if got != want {
		return DPoPProof{}, badProof("the DPoP proof htu does not match the request URL", fmt.Errorf("htu %q, want %q", got, want))
	}
	// §4.3 step 11, §11.1.
	iat := pc.IssuedAt.Time()
	if d := iat.Sub(now); d > window+leeway || d < -(window+leeway) {
		return DPoPProof{}, badProof("the DPoP proof iat is too far from the current time", fmt.Errorf("iat %d, now %d", iat.Unix(), now.Unix()))
	}
	// §4.3 step 12: ath binds the proof to the access token.
	if check.AccessToken != "" {
		sum := sha256.Sum256([]byte(check.AccessToken))
		if subtle.ConstantTimeCompare([]byte(pc.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
			return DPoPProof{}, badProof("the DPoP proof ath does not match the access token", nil)
		}
	}
	// §4.3 step 10, §8: checked last, so a client told to use a nonce
	// knows everything else about its proof was right.
	if check.Nonce != nil {
		if pc.Nonce == nil || *pc.Nonce == "" || len(*pc.Nonce) > maxDPoPNonceLen || !check.Nonce(*pc.Nonce) {
			return DPoPProof{}, &DPoPError{Reason: "a fresh DPoP nonce is required", Nonce: true}
		}
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return DPoPProof{}, badProof("the DPoP proof must carry a public jwk", err)
	}
	return DPoPProof{
		JKT:      base64.RawURLEncoding.EncodeToString(tp),
		JTI:      pc.JTI,
		IssuedAt: iat,
		Expires:  iat.Add(window + leeway),
	}, nil
}

// NormalizeHTU returns an http(s) URL in the form DPoP compares (RFC 9449
// §4.3 step 9, RFC 3986 §6): scheme and host lower-cased, the default
// port dropped, an empty path as "/", query and fragment removed. URLs
// that are not absolute http(s) URLs, or carry userinfo, are refused.
func NormalizeHTU(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("htu must be an http or https URL")
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", errors.New("htu must be an absolute URL without userinfo")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}
