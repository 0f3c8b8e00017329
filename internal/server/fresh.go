package server

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/token"
)

// Replayed PKCE challenges and nonces.
//
// RFC 9700 §2.1.1: the code_challenge (and the OpenID Connect nonce) "MUST
// be transaction-specific and securely bound to the client and the user
// agent in which the transaction was started". A client that sends one
// again is broken (a fixed verifier) or attacked (a challenge injected
// from another transaction, §4.5.3). Latch records every value per client
// when it issues a code, hashed, in the store's single-use set for
// ChallengeReplayWindow — in the same write transaction that stores the
// code (store.CreateAuthCodeOnce: one write per authorization response) —
// and flags a value it finds there: an audit
// event and a metric always, and for a client registered with
// RequireFreshChallenge a refusal. The set is swept by the sweeper like
// every one-time value.
//
// What it does not do: detect reuse across clients (two clients may pick
// the same value by chance only with negligible probability, and telling
// one client about another's values would leak), or after the window.

// eventChallengeReplay is the audit event of a reused value; its "kind"
// is replayCodeChallenge or replayNonce, "refused" says whether the
// request was refused.
const eventChallengeReplay = "challenge_replay_detected"

// The kinds of value checked.
const (
	replayCodeChallenge = "code_challenge"
	replayNonce         = "nonce"
)

// errReplayedChallenge refuses a request that reuses a value (RFC 6749
// §4.1.2.1 invalid_request, redirected: the client and redirect URI are
// valid by now).
func errReplayedChallenge(kind string) *oauth.Error {
	return oauth.Errorf(oauth.InvalidRequest,
		"this %s was sent in an earlier authorization request of this client; generate a fresh code_verifier and nonce for every request (RFC 9700 §2.1.1)", kind)
}

// replayKey is the UseOnce key of value for clientID: a hash, so neither
// the value nor the client appears in the store, and unambiguous (a NUL
// ends the client ID, which cannot contain one: printable ASCII).
func replayKey(kind, clientID, value string) string {
	return "fresh:" + kind + ":" + token.Hash(clientID+"\x00"+value)
}

// freshKeys are the replay markers of ar, recorded with its code in one
// write (store.CreateAuthCodeOnce): its code_challenge and nonce, each
// keyed per client, and the kind of each; absent values have none.
func freshKeys(ar *authRequest) (keys, kinds []string) {
	for _, v := range [...]struct{ kind, value string }{
		{replayCodeChallenge, ar.req.CodeChallenge},
		{replayNonce, ar.req.Nonce},
	} {
		if v.value != "" {
			keys = append(keys, replayKey(v.kind, ar.client.ID, v.value))
			kinds = append(kinds, v.kind)
		}
	}
	return keys, kinds
}

// freshUntil is how long the markers of a code issued now are kept.
func (s *Server) freshUntil(now time.Time) time.Time {
	window := s.opts.ChallengeReplayWindow
	if window <= 0 {
		window = s.opts.CodeTTL
	}
	return now.Add(window)
}

// reportReplays audits every value of kinds that seen marks as sent
// before, and returns the refusal for a client with RequireFreshChallenge
// (naming the first such value), nil otherwise. The store has recorded
// every value of the request by now, reused or not, so a later request is
// judged against all of them; for a refusing client it has not stored the
// code, and of concurrent requests with one fresh value exactly one got
// its code (CreateAuthCodeOnce is atomic on every store).
func (s *Server) reportReplays(ctx context.Context, ar *authRequest, kinds []string, seen []bool) error {
	var refusal error
	for i, kind := range kinds {
		if !seen[i] {
			continue
		}
		refused := ar.client.RequireFreshChallenge
		s.auditLog(ctx, eventChallengeReplay, "client_id", ar.client.ID, "kind", kind, "refused", refused)
		if refused && refusal == nil {
			refusal = &redirectError{to: ar.to, err: errReplayedChallenge(kind)}
		}
	}
	return refusal
}
