package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// DPoP (RFC 9449) at the token, PAR and userinfo endpoints. What is bound:
//
//   - every access token issued with a valid proof carries cnf.jkt, the
//     proof key's thumbprint (§6.1), and token_type DPoP (§5);
//   - a public client's grant records the key of the proof presented at
//     the code exchange; its refresh tokens are then usable only with a
//     proof by that key (§5: "refresh tokens issued to public clients
//     MUST be bound"). Confidential clients' refresh tokens are bound to
//     the client's credentials instead;
//   - a code requested with dpop_jkt (§10) is redeemed only with a proof
//     by that key;
//   - a request pushed to /par with a DPoP proof gets the proof key's
//     thumbprint as its dpop_jkt (§10.1, par.go parDPoPBinding).
//
// Error choices where the RFC names none: a client registered with
// RequireDPoP that sends no proof gets invalid_dpop_proof (§5.2 says only
// that the request MUST be rejected; that code tells the client what to
// fix). A proof that is valid but by a key other than the one a code or
// refresh token is bound to gets invalid_grant: the proof is fine, the
// grant is not usable with it (RFC 6749 §5.2). A refresh token bound to a
// key, presented without any proof, gets invalid_grant as well.
//
// Every accepted proof's jti is recorded with store.UseOnce under its key
// thumbprint until the proof expires, so a replay fails on every instance
// sharing the store (§11.1).

// dpopNonceWindow is the life of a server nonce: one issued in window i
// is accepted in windows i and i+1 (§8), i.e. for 5 to 10 minutes.
const dpopNonceWindow = 5 * time.Minute

// dpopNonces issues and checks stateless server nonces (RFC 9449 §8):
// base64url(window index ‖ HMAC-SHA256(key, window index)[:16]).
type dpopNonces struct {
	key []byte
}

// newDPoPNonces returns nil when nonces are off (no key). The key is
// derived from the key-encryption secret by the composition root
// (internal/app), so every instance issues and accepts the same nonces.
func newDPoPNonces(key []byte) *dpopNonces {
	if len(key) == 0 {
		return nil
	}
	return &dpopNonces{key: key}
}

func (n *dpopNonces) forWindow(i int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	m := hmac.New(sha256.New, n.key)
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(append(b[:], m.Sum(nil)[:16]...))
}

func nonceWindow(now time.Time) int64 { return now.Unix() / int64(dpopNonceWindow/time.Second) }

// issue returns the nonce of the current window.
func (n *dpopNonces) issue(now time.Time) string { return n.forWindow(nonceWindow(now)) }

// valid accepts the nonces of the current and the previous window.
func (n *dpopNonces) valid(nonce string, now time.Time) bool {
	cur := nonceWindow(now)
	return hmac.Equal([]byte(nonce), []byte(n.forWindow(cur))) || hmac.Equal([]byte(nonce), []byte(n.forWindow(cur-1)))
}

// setDPoPNonce gives the response a fresh nonce when nonces are on: on
// errors (use_dpop_nonce, §8) and successes alike (§8.2), so a client
// always holds a current one.
func (s *Server) setDPoPNonce(w http.ResponseWriter) {
	if s.nonces != nil {
		w.Header().Set("DPoP-Nonce", s.nonces.issue(s.now()))
	}
}

// dpopProof is the DPoP step of the token, PAR and userinfo endpoints and must
// never be skipped when a DPoP header is present. It validates the proof
// of r, if any, for the endpoint at htu (RFC 9449 §4.3, with ath when
// accessToken is set, and the server nonce when nonces are on), then
// records its jti so it cannot be replayed (§11.1). It returns nil, nil
// when r has no DPoP header. It does not compare the key with any binding
// (cnf.jkt, dpop_jkt, a grant's key): the caller does.
func (s *Server) dpopProof(ctx context.Context, r *http.Request, htu, accessToken string) (*token.DPoPProof, error) {
	vals := r.Header.Values("DPoP")
	switch len(vals) {
	case 0:
		return nil, nil
	case 1:
	default:
		// §4.3 step 1.
		return nil, oauth.Errorf(oauth.InvalidDPoPProof, "more than one DPoP header")
	}
	now := s.now()
	check := token.DPoPCheck{Method: r.Method, URL: htu, AccessToken: accessToken, Now: now}
	if s.nonces != nil {
		check.Nonce = func(v string) bool { return s.nonces.valid(v, now) }
	}
	p, err := token.ParseDPoPProof(vals[0], check)
	if err != nil {
		var de *token.DPoPError
		switch {
		case errors.As(err, &de) && de.Nonce:
			return nil, (&oauth.Error{Code: oauth.UseDPoPNonce, Description: de.Reason}).WithCause(err)
		case errors.As(err, &de):
			return nil, (&oauth.Error{Code: oauth.InvalidDPoPProof, Description: de.Reason}).WithCause(err)
		}
		return nil, (&oauth.Error{Code: oauth.InvalidDPoPProof, Description: "invalid DPoP proof"}).WithCause(err)
	}
	switch err := s.store.UseOnce(ctx, "dpop:"+p.JKT+":"+p.JTI, p.Expires); {
	case errors.Is(err, store.ErrAlreadyExists):
		s.auditLog(ctx, "dpop_proof_replayed", "jkt", p.JKT)
		return nil, oauth.Errorf(oauth.InvalidDPoPProof, "the DPoP proof was already used").WithCause(err)
	case err != nil:
		return nil, err
	}
	return &p, nil
}
