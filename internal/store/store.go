package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. They are part of the Store contract: every backend returns
// them (possibly wrapped) and the conformance suite in storetest checks them.
var (
	// ErrNotFound: no record with that key (or it is expired/revoked where
	// a method's doc says so).
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a record with that primary or unique key exists.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrCodeUsed: ConsumeAuthCode or RedeemAuthCode found the code but it
	// had been consumed before. The returned AuthCode is filled in, so the
	// caller can revoke the grant issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5).
	ErrCodeUsed = errors.New("store: authorization code already used")
	// ErrRefreshReused: RotateRefreshToken was handed a refresh token that
	// had already been rotated, outside the grace window or not the
	// predecessor of the chain's head. The backend has
	// revoked the whole family in the same atomic step.
	ErrRefreshReused = errors.New("store: refresh token reused")
	// ErrRevoked: the record exists but its grant (family) is revoked.
	ErrRevoked = errors.New("store: revoked")
	// ErrExpired: the record exists but it is past its expiry.
	ErrExpired = errors.New("store: expired")
)

// Store is the contract every storage backend fulfils. All methods are safe
// for concurrent use by many goroutines and by many processes sharing one
// database. Times passed in are authoritative: backends never read the clock.
type Store interface {
	// Clients.
	CreateClient(ctx context.Context, c Client) error // ErrAlreadyExists
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error) // ordered by ID
	// UpdateClient replaces every field of the client with that ID. ErrNotFound.
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, id string) error // ErrNotFound

	// Initial access tokens of dynamic client registration (RFC 7591 §3).
	CreateInitialAccessToken(ctx context.Context, t InitialAccessToken) error // ErrAlreadyExists
	// UseInitialAccessToken atomically spends one use of the token:
	// unknown hash ErrNotFound; ExpiresAt not after now, or no use left,
	// ErrExpired. Of N concurrent callers on a token with k uses left
	// exactly min(N, k) succeed. It returns the token after the use.
	UseInitialAccessToken(ctx context.Context, hash string, now time.Time) (InitialAccessToken, error)

	// Users. Usernames are unique (case-sensitive, as stored).
	CreateUser(ctx context.Context, u User) error // ErrAlreadyExists on ID or Username
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context) ([]User, error) // ordered by Username
	SetUserPassword(ctx context.Context, id string, passwordHash string) error
	// DeleteUser deletes the user and its sessions, consents, grants and
	// factors.
	DeleteUser(ctx context.Context, id string) error
	// SetUserMFARequired sets whether the user must sign in with a second
	// factor whatever the client asks (User.MFARequired). ErrNotFound.
	SetUserMFARequired(ctx context.Context, id string, required bool) error

	// Sign-in factors besides the password (TOTP, recovery codes, later
	// passkeys): a list of methods per user.
	//
	// SaveFactors, in one transaction, deletes the user's factors whose
	// Kind is in replace and inserts fs (each with UserID equal to
	// userID): either all of it happens or none. ErrNotFound for an
	// unknown user; ErrAlreadyExists when an inserted (UserID, ID) is
	// taken (and then nothing changes).
	SaveFactors(ctx context.Context, userID string, replace []string, fs ...Factor) error
	// ListFactors returns the user's factors, oldest first (CreatedAt,
	// then ID); none for an unknown user.
	ListFactors(ctx context.Context, userID string) ([]Factor, error)
	// AdvanceFactor is the single atomic step that makes a factor's use
	// count once: it sets the factor's Counter to counter and LastUsedAt
	// to now only if counter is greater than the stored Counter. Of any
	// number of concurrent callers (in any process) with the same counter
	// exactly one succeeds; the others, and any caller whose counter is
	// not greater, get ErrAlreadyExists (a replay). ErrNotFound for an
	// unknown factor.
	AdvanceFactor(ctx context.Context, userID, id string, counter int64, now time.Time) error
	// DeleteFactor deletes one factor of the user. ErrNotFound.
	DeleteFactor(ctx context.Context, userID, id string) error
	// TouchFactor records a use of a factor that has no counter to
	// advance (a passkey whose authenticator reports signature counter
	// 0, WebAuthn §6.1.1): LastUsedAt becomes now; Counter is unchanged.
	// It makes nothing single-use. ErrNotFound.
	TouchFactor(ctx context.Context, userID, id string, now time.Time) error

	// Upstream OpenID Providers users may sign in through (federation),
	// keyed by their ID. CreateUpstream: ErrAlreadyExists on a taken ID;
	// UpdateUpstream replaces every field but CreatedAt, ErrNotFound;
	// DeleteUpstream deletes it and its links, ErrNotFound.
	CreateUpstream(ctx context.Context, u Upstream) error
	GetUpstream(ctx context.Context, id string) (Upstream, error)
	ListUpstreams(ctx context.Context) ([]Upstream, error) // ordered by ID
	UpdateUpstream(ctx context.Context, u Upstream) error
	DeleteUpstream(ctx context.Context, id string) error
	// LinkUpstream records that the upstream's subject is the user: one
	// (UpstreamID, Subject) belongs to one user, so of concurrent links
	// of one subject exactly one succeeds and the others get
	// ErrAlreadyExists. ErrNotFound for an unknown user or upstream.
	// DeleteUser and DeleteUpstream delete the links.
	LinkUpstream(ctx context.Context, l UpstreamLink) error
	// GetUpstreamLink returns the link of the upstream's subject;
	// ErrNotFound.
	GetUpstreamLink(ctx context.Context, upstreamID, subject string) (UpstreamLink, error)
	// ListUserUpstreamLinks returns the user's links, by UpstreamID.
	ListUserUpstreamLinks(ctx context.Context, userID string) ([]UpstreamLink, error)

	// SSO sessions, keyed by the hash of the cookie value.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns ErrNotFound for an unknown session and ErrExpired
	// for one whose ExpiresAt is not after now.
	GetSession(ctx context.Context, id string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, id string) error // ErrNotFound
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// DeleteUserSessions ends every session of the user; returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)

	// Back-channel logout outbox (OpenID Connect Back-Channel Logout 1.0).
	// EndSession deletes the session with that ID (ErrNotFound) and, in
	// the same transaction, enqueues one BackchannelLogout for every
	// client that has a BackchannelLogoutURI and holds a grant issued in
	// the session (grants record the session's SID: they are the record
	// of which clients received tokens in it). A session not live at now
	// (expired) is deleted without notifications. Returns how many
	// notifications were enqueued. In the same step, every unredeemed
	// authorization code issued in the session dies (its ExpiresAt becomes
	// min(ExpiresAt, now): ConsumeAuthCode and RedeemAuthCode answer
	// ErrExpired), so no client gets tokens for the session after its
	// end. Either the session ends and every notification is durable, or
	// none of it happens.
	EndSession(ctx context.Context, id string, now time.Time) (queued int, err error)
	// EndUserSessions does what EndSession does for every session of the
	// user (expired ones are deleted too, without notifications), in one
	// transaction. Returns the sessions deleted and notifications queued.
	EndUserSessions(ctx context.Context, userID string, now time.Time) (ended, queued int, err error)
	// ClaimBackchannelLogouts leases up to limit notifications that are
	// due (NextAttemptAt not after now) and not leased by anyone (their
	// LeaseUntil not after now), oldest due first, setting LeaseUntil to
	// now+lease, and returns them. Of concurrent callers (in any process)
	// no two get the same notification while its lease runs.
	ClaimBackchannelLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]BackchannelLogout, error)
	// FinishBackchannelLogout removes a delivered (or abandoned)
	// notification, only while the caller's lease (the LeaseUntil it
	// claimed) still holds it; otherwise ErrNotFound and nothing changes.
	FinishBackchannelLogout(ctx context.Context, id string, leaseUntil time.Time) error
	// RetryBackchannelLogout records a failed attempt, only under the
	// caller's lease (else ErrNotFound): Attempts+1, LastError, the lease
	// released and NextAttemptAt set to next.
	RetryBackchannelLogout(ctx context.Context, id string, leaseUntil, next time.Time, lastError string) error
	// PendingBackchannelLogouts counts the notifications in the outbox.
	PendingBackchannelLogouts(ctx context.Context) (int, error)

	// Consents remembered per user and client.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// SaveConsent inserts or replaces the consent for (UserID, ClientID).
	SaveConsent(ctx context.Context, c Consent) error

	// Authorization codes, keyed by the hash of the code.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// CreateAuthCodeOnce is the authorization response's one write: in ONE
	// transaction it records each of keys as a one-time value until
	// keysExpire — in the set UseOnce writes, so each finds the other's
	// keys — and stores c, unless exclusive is set and one of keys was
	// recorded before: then c is not stored. seen[i] reports that keys[i]
	// was recorded before this call. The keys not seen before are
	// recorded in every case, stored code or not (a later call is judged
	// against them). keys must be distinct.
	//
	// Of concurrent callers with one key (in any process) exactly one
	// finds it unseen; with exclusive set, of concurrent callers sharing
	// a key at most one stores its code. A taken code hash is
	// ErrAlreadyExists and nothing at all is written.
	CreateAuthCodeOnce(ctx context.Context, c AuthCode, keys []string, keysExpire time.Time, exclusive bool) (seen []bool, err error)
	// ConsumeAuthCode atomically marks the code used and returns it.
	// Exactly one of any number of concurrent callers (in any process)
	// succeeds. A code used before returns (code, ErrCodeUsed); an unknown
	// code ErrNotFound; an expired one (ExpiresAt not after now) ErrExpired.
	ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (AuthCode, error)
	// RedeemAuthCode is the code exchange's one write (RFC 6749 §4.1.2: a
	// code is used once): in ONE transaction it marks the code used at
	// now — only if it is unused and unexpired (ExpiresAt after now; a
	// dead code is expired) — and inserts g and, when rt is not nil, its
	// first refresh token, exactly as CreateGrant does. Either all of
	// these happen or none.
	//
	// g.ID must equal the code's GrantID (and rt.GrantID g.ID): otherwise
	// nothing is written and a non-sentinel error is returned.
	//
	// Results: success (code, nil); a code used before (code filled in,
	// ErrCodeUsed) and nothing inserted — also once it has expired, so a
	// replay is always detected; an unknown code ErrNotFound; an unused
	// expired or dead code ErrExpired; a taken grant ID or refresh hash
	// ErrAlreadyExists (code left unused).
	//
	// Of any number of concurrent callers (in any process) exactly one
	// succeeds, and every other gets ErrCodeUsed only after the winner's
	// grant is committed and visible: a loser that then revokes the code's
	// GrantID (RFC 9700 §4.5) always finds the grant. It does not check
	// the client, redirect URI or PKCE: the caller does that before.
	RedeemAuthCode(ctx context.Context, hash string, now time.Time, g Grant, rt *RefreshToken) (AuthCode, error)
	// GetAuthCode returns the code with no validity checks (used,
	// expired or dead codes included); ErrNotFound. The token endpoint
	// checks a redemption against it before consuming anything.
	GetAuthCode(ctx context.Context, hash string) (AuthCode, error)
	// RecordCodeFailure atomically counts one refused redemption of an
	// unused code and returns the new count. At the max-th failure the
	// code dies in the same step: its ExpiresAt becomes min(ExpiresAt,
	// now), so ConsumeAuthCode answers ErrExpired (never ErrCodeUsed: a
	// dead code is not a replay). Of concurrent callers each gets a
	// distinct count. A code consumed before counts nothing and returns
	// ErrCodeUsed; an unknown code ErrNotFound.
	RecordCodeFailure(ctx context.Context, hash string, now time.Time, max int) (int, error)

	// Grants (token families). A grant is created when a code is redeemed
	// (or a client credentials token is issued) and every token issued
	// from it carries its ID; revoking it revokes all of them.
	// CreateGrant stores the grant and, when rt is not nil, its first
	// refresh token, in one transaction.
	CreateGrant(ctx context.Context, g Grant, rt *RefreshToken) error
	// GetGrant returns the grant even when revoked (check RevokedAt).
	GetGrant(ctx context.Context, id string) (Grant, error)
	// RevokeGrant marks the grant revoked at now for reason (idempotent:
	// an already revoked grant keeps its first RevokedAt and
	// RevokedReason). ErrNotFound.
	RevokeGrant(ctx context.Context, id string, now time.Time, reason Reason) error
	// RevokeUserGrants revokes every grant of the user, optionally only
	// those of one client (clientID != ""), for reason. Grants revoked
	// before keep their first RevokedAt and RevokedReason. Returns how
	// many were revoked.
	RevokeUserGrants(ctx context.Context, userID, clientID string, now time.Time, reason Reason) (int, error)
	// RevokeSessionGrants revokes the live grants issued in the SSO
	// session sid (Grant.SessionID) whose client is registered with
	// RevokeRefreshOnLogout, except those of exceptClientID (""
	// excepts none), for reason. Returns how many were revoked. A sid of
	// "" revokes nothing (grants without a session never match).
	RevokeSessionGrants(ctx context.Context, sid, exceptClientID string, now time.Time, reason Reason) (int, error)
	ListUserGrants(ctx context.Context, userID string) ([]Grant, error)

	// Refresh tokens, keyed by the hash of the token.
	// GetRefreshToken returns the record with no validity checks.
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// GetRefreshGrant returns the refresh token and its grant in one read,
	// with no validity checks (the grant even when revoked); ErrNotFound
	// when the token is unknown or its grant is gone.
	GetRefreshGrant(ctx context.Context, hash string) (RefreshToken, Grant, error)
	// RotateRefreshToken is the single atomic step of the refresh grant.
	// Given the hash of the presented token and its successor:
	//   - unknown hash: ErrNotFound;
	//   - grant revoked: ErrRevoked;
	//   - expired (idle ExpiresAt or grant AbsoluteExpiresAt not after now): ErrExpired;
	//   - not yet rotated: marks it rotated at now with next.Hash as its
	//     successor, inserts next, and returns (old, RotateRotated);
	//   - already rotated, now - RotatedAt <= grace, and its successor is
	//     the head of the chain (the successor is not rotated itself):
	//     inserts nothing and returns (old, RotateGrace); the caller
	//     re-issues old.SuccessorHash's token (which it can derive, see the
	//     refresh grant). Only the head's immediate predecessor gets it:
	//     with g0 → g1 → g2, g1 in its window gets g2 back, g0 never does;
	//   - any other rotated token (outside grace, or older than the head's
	//     predecessor): revokes the grant (RevokedReason ReasonReused) in
	//     the same atomic step and returns (old, ErrRefreshReused).
	// Of any number of concurrent callers presenting one unrotated token,
	// exactly one gets RotateRotated.
	RotateRefreshToken(ctx context.Context, hash string, next RefreshToken, now time.Time, grace time.Duration) (RefreshToken, RotateResult, error)

	// Revoked access tokens (by jti) until they would have expired anyway.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error // idempotent
	IsAccessTokenRevoked(ctx context.Context, jti string) (bool, error)
	// AccessTokenState reads, in one round trip, what decides whether a
	// validly signed access token is still good: whether its jti was
	// revoked, and, when grantID is not "", whether its grant exists and
	// whether it is revoked. It never fails for an unknown jti or grant.
	AccessTokenState(ctx context.Context, jti, grantID string) (AccessTokenState, error)

	// Signing keys. A key's lifecycle is its schedule (see SigningKey):
	// published from CreatedAt, signing from ActivateAt until the next key
	// of its Alg activates. Two keys of one Alg never share an ActivateAt
	// (a unique index): a second one fails with ErrAlreadyExists.
	CreateKey(ctx context.Context, k SigningKey) error
	// ListKeys returns every key, newest first (by CreatedAt, then ID).
	ListKeys(ctx context.Context) ([]SigningKey, error)
	// ScheduleKey stores k unless a key of k.Alg activates after `after`
	// (with a zero after: unless a key of k.Alg has any ActivateAt); then
	// it stores nothing and returns ErrAlreadyExists. Check and insert are
	// one atomic step across processes: of N concurrent calls for one Alg
	// whose keys would all be blocked by each other, exactly one stores
	// its key. This is how instances agree on one first key and on one
	// next key per rotation.
	ScheduleKey(ctx context.Context, k SigningKey, after time.Time) error
	DeleteKey(ctx context.Context, id string) error

	// UseOnce records a one-time value (a DPoP proof jti, a nonce) until
	// expiresAt; a second call with the same key before it is swept returns
	// ErrAlreadyExists. Exactly one of concurrent callers succeeds.
	UseOnce(ctx context.Context, key string, expiresAt time.Time) error

	// Pushed authorization requests (RFC 9126), keyed by the hash of the
	// request_uri. CreatePushedRequest: ErrAlreadyExists on a taken hash.
	CreatePushedRequest(ctx context.Context, p PushedRequest) error
	// ConsumePushedRequest atomically removes the request and returns it
	// (a request_uri is used once, RFC 9126 §4): of any number of
	// concurrent callers (in any process) exactly one gets it; the others,
	// and any later caller, get ErrNotFound. An expired request
	// (ExpiresAt not after now) is removed too and returns ErrExpired.
	ConsumePushedRequest(ctx context.Context, hash string, now time.Time) (PushedRequest, error)

	// Device authorizations (RFC 8628), keyed by the hash of the
	// device_code; UserCodeHash is unique too (the /device page finds the
	// record by it). See DeviceCode for the life of a record.
	// CreateDeviceCode: ErrAlreadyExists on a taken Hash or UserCodeHash.
	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	// GetDeviceCodeByUserCode returns the record with no validity checks;
	// ErrNotFound.
	GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (DeviceCode, error)
	// DecideDeviceCode records the user's decision atomically: only a
	// pending record whose ExpiresAt is after now becomes approved or
	// denied (with the decision's user, session, auth time and AMR). Of
	// any number of concurrent callers exactly one succeeds; the others,
	// and any later caller, get ErrCodeUsed. Unknown: ErrNotFound; pending
	// but expired: ErrExpired.
	DecideDeviceCode(ctx context.Context, userCodeHash string, now time.Time, d DeviceDecision) (DeviceCode, error)
	// PollDeviceCode records one poll of the token endpoint atomically and
	// returns the record as it is after it, with slowDown set when the
	// poll came too early (NextPoll: a pending record polled before
	// LastPolledAt+Interval gets its Interval raised by step, RFC 8628
	// §3.5). Concurrent polls are serialised: each sees the one before.
	// Unknown: ErrNotFound; used (redeemed) before: ErrCodeUsed, also once
	// expired, returned WITH the record (its GrantID and ClientID, so the
	// caller can revoke the grant the replayed code produced, RFC 6749
	// §4.1.2); otherwise expired (ExpiresAt not after now): ErrExpired.
	PollDeviceCode(ctx context.Context, hash string, now time.Time, step time.Duration) (d DeviceCode, slowDown bool, err error)
	// RedeemDeviceCode is the device grant's one write (a device_code
	// yields tokens once): in ONE transaction it marks an approved,
	// unused, unexpired record used at now and inserts g and, when rt is
	// not nil, its first refresh token, as CreateGrant does; either all
	// of it happens or none. g.ID must equal the record's GrantID (and
	// rt.GrantID g.ID), else nothing is written and a non-sentinel error
	// returned. Of any number of concurrent callers (in any process)
	// exactly one succeeds; the others get ErrCodeUsed with the record
	// (as PollDeviceCode), read after the winner's commit, so its GrantID
	// names a grant that exists. Unknown: ErrNotFound; expired:
	// ErrExpired; not approved: a non-sentinel error.
	RedeemDeviceCode(ctx context.Context, hash string, now time.Time, g Grant, rt *RefreshToken) (DeviceCode, error)

	// Throttle counters shared by every instance (login and client
	// authentication failures). RecordFailure adds one failure for key at
	// now and returns the number of failures within (now-window, now],
	// this one included.
	RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (count int, err error)
	// Failures returns the number of failures for key inside the window,
	// unexpired reservations (ReserveAttempt's leases) included. A row
	// counts only until its expiry (its time plus the window it was
	// recorded with, or its lease), whatever the window asked.
	Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	ClearFailures(ctx context.Context, key string) error
	// FailureKeys returns, ordered and each once, the keys starting with
	// prefix (not empty) that hold a row counting at now (its expiry after
	// now): failures and unexpired reservations. One indexed read, so an
	// instance can learn cheaply what its neighbours have seen (the
	// client throttle polls the lockouts with it).
	FailureKeys(ctx context.Context, prefix string, now time.Time) ([]string, error)
	// ReserveAttempt counts an authentication attempt against every
	// budget BEFORE its credential is checked, so a concurrent burst
	// cannot verify more guesses than the budget allows. Atomically, it
	// counts the rows of each budget's Key at times in (now-window, now]
	// whose expiry is after now — failures (RecordFailure, ConfirmAttempt)
	// and unexpired reservations share one table; when every count is
	// below its Limit it records one reservation at now for every key and
	// returns ok with the counts including it, otherwise it records
	// nothing and returns ok=false with the counts as they were. Of N
	// concurrent callers (in any process) on one fresh key, exactly
	// min(N, Limit) get ok. Keys must be distinct.
	//
	// A reservation is a lease: it expires at now+lease (lease in
	// (0, window]; a longer one is cut to window), after which it no
	// longer counts, so an attempt never settled (a crash, a failed
	// release) gives its room back. It must be settled within its lease —
	// ReleaseAttempt (right credential), ConfirmAttempt (wrong one) — for
	// the budget to bound the credentials checked. A lease shorter than
	// window can be told apart from a failure (whose expiry is its time
	// plus window): when refused, busy reports that every full budget
	// would have room without its unexpired leases, i.e. the refusal is
	// only due to attempts still in flight (on any instance), which may
	// yet give their room back; it is never true with ok.
	ReserveAttempt(ctx context.Context, now time.Time, window, lease time.Duration, budgets ...Budget) (counts []int, ok, busy bool, err error)
	// ReleaseAttempt removes, for each key, one attempt recorded at
	// exactly at (a reservation whose credential proved right); a key
	// without one is left alone.
	ReleaseAttempt(ctx context.Context, at time.Time, keys ...string) error
	// ConfirmAttempt turns, for each key, one reservation recorded at
	// exactly at into a failure (its credential proved wrong): it then
	// counts until at+window. A key whose reservation is gone (its lease
	// expired and was swept) gets a failure at at instead, so a wrong
	// credential always counts once. It returns, per key, the failures in
	// (now-window, now] this one included — leases not counted, so a
	// lockout can start on failures only, not on attempts that were in
	// flight. Concurrent confirmations of one key are serialised: N of
	// them return N distinct counts.
	ConfirmAttempt(ctx context.Context, now, at time.Time, window time.Duration, keys ...string) (failures []int, err error)

	// DeleteExpired removes at most batch rows of each expired kind
	// (codes, sessions, refresh tokens and grants past their absolute
	// expiry, revoked access token entries, one-time values, pushed
	// authorization requests, device authorizations, failure counters,
	// initial access tokens)
	// whose expiry is before now, and the spent factors: reset links used
	// or created more than ResetLinkTTL before now, recovery codes used
	// (Counter > 0); never an unused recovery code, a TOTP or a passkey. A refresh token never rotated (the head of its chain) is kept
	// ExpiredRefreshRetention past its expiry while its grant exists, so
	// the refresh grant can still tell its client it idle-expired; a
	// rotated one goes at its expiry. It is safe to run on every instance
	// at once. Returns the number of rows removed.
	DeleteExpired(ctx context.Context, now time.Time, batch int) (int, error)

	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// ExpiredRefreshRetention is how long DeleteExpired keeps a refresh token
// that expired without being rotated (one row per grant at most, and
// never past its grant's own sweep): within
// it the token endpoint answers "(reason: idle_expired)" rather than an
// unknown token. The row is useless to anyone: RotateRefreshToken
// refuses an expired token before anything else.
const ExpiredRefreshRetention = 30 * 24 * time.Hour

// Budget is one throttle counter an attempt is reserved against: at most
// Limit attempts per window for Key.
type Budget struct {
	Key   string
	Limit int
}

// AccessTokenState is the store's side of an access token check
// (Store.AccessTokenState).
type AccessTokenState struct {
	Revoked      bool // the jti was revoked (RevokeAccessToken)
	GrantMissing bool // a grant ID was given and no such grant exists
	GrantRevoked bool // the grant exists and is revoked
}

// RotateResult says which branch RotateRefreshToken took.
type RotateResult int

const (
	RotateFailed  RotateResult = iota // an error was returned
	RotateRotated                     // the token was rotated now; next was inserted
	RotateGrace                       // the token was rotated before, within grace
)

// Client is a registered OAuth client.
type Client struct {
	ID string
	// SecretHash is token.Hash (SHA-256) of a confidential client's
	// secret, a 256-bit random value; empty for public clients.
	SecretHash string
	Public     bool
	Name       string
	// RedirectURIs are matched exactly (see oauth.MatchRedirectURI).
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// AllowedOrigins get CORS on the API endpoints (scheme://host[:port]).
	AllowedOrigins []string
	GrantTypes     []string // authorization_code, refresh_token, client_credentials
	Scopes         []string // scopes the client may request; empty: the defaults
	Audiences      []string // resource indicators the client may ask for
	FirstParty     bool     // no consent page
	// RequireDPoP refuses tokens without a DPoP proof (RFC 9449).
	RequireDPoP bool
	// IDTokenAlg is id_token_signed_response_alg; empty: the server default.
	IDTokenAlg string
	// Refresh token policy; zero values mean the server defaults.
	RefreshGrace          time.Duration
	RefreshIdle           time.Duration
	RefreshAbsolute       time.Duration
	AccessTokenTTL        time.Duration
	RevokeRefreshOnLogout bool
	// ResourceServer lets a confidential client introspect tokens issued
	// to other clients (RFC 7662 §2.1); without it, a client learns only
	// about its own tokens (§4).
	ResourceServer bool
	CreatedAt      time.Time
	// AuthMethod is the token_endpoint_auth_method (RFC 7591 §2) when it
	// is not implied by the client type: "" (a public client: none; a
	// confidential one: its secret) or "private_key_jwt" (RFC 7523 §2.2),
	// whose keys are JWKS or JWKSURI (exactly one) and which has no secret.
	AuthMethod string
	JWKS       string // an inline JWK Set (RFC 7517 §5), JSON
	JWKSURI    string // where the client publishes its JWK Set (https)
	// RequirePAR makes the authorization endpoint accept only pushed
	// authorization requests from this client (RFC 9126 §6).
	RequirePAR bool
	// BackchannelLogoutURI receives Logout Tokens when a session in which
	// the client got tokens ends (OpenID Connect Back-Channel Logout 1.0
	// §2.2); "" for none.
	BackchannelLogoutURI string
	// BackchannelLogoutSessionRequired: the client needs sid in Logout
	// Tokens (§2.2). Latch always sends sid and sub, so it only documents
	// the client's need.
	BackchannelLogoutSessionRequired bool
	// RequireFreshChallenge refuses an authorization request whose
	// code_challenge or nonce the client sent before, within the replay
	// window (RFC 9700 §2.1.1: they MUST be transaction-specific).
	// Without it such a request is only audited and counted.
	RequireFreshChallenge bool
	// AuthenticationPolicy is how the client's users must sign in:
	// "password", "second_factor" or "passkey" (registration.Policies);
	// "" is the server's policy. The stricter of the two applies.
	AuthenticationPolicy string
	// Origin says who registered the client: "" (OriginOperator, the
	// CLI or admin API), OriginDCR or OriginCIMD.
	Origin string
	// RegistrationTokenHash is token.Hash of the registration access
	// token of a dynamically registered client (RFC 7592 §1); "" for others.
	RegistrationTokenHash string
}

// Client origins (Client.Origin).
const (
	OriginOperator = ""     // created by an operator (CLI, admin API, latch dev)
	OriginDCR      = "dcr"  // dynamic client registration, RFC 7591
	OriginCIMD     = "cimd" // a client ID metadata document, stored when fetched
)

// InitialAccessToken authorises dynamic client registrations (RFC 7591
// §3): an operator creates one and hands it to a developer.
type InitialAccessToken struct {
	Hash      string // token.Hash of the token; never the token
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsesLeft is how many more registrations it authorises.
	UsesLeft int
}

// PushedRequest is an authorization request pushed to the PAR endpoint
// (RFC 9126 §2), already validated for its client.
type PushedRequest struct {
	Hash      string // hash of the request_uri
	ClientID  string
	Params    string // the request's parameters, application/x-www-form-urlencoded
	CreatedAt time.Time
	ExpiresAt time.Time
}

// User is an end user who signs in with a password.
type User struct {
	ID            string // the OIDC sub; random, stable
	Username      string
	Email         string
	EmailVerified bool
	Name          string
	PasswordHash  string
	// MFARequired: every sign-in needs a second factor (set by an
	// administrator), whatever the client's policy.
	MFARequired bool
	CreatedAt   time.Time
}

// Factor kinds.
const (
	// FactorTOTP is an RFC 6238 authenticator: Secret is the sealed
	// shared key, Counter the last time step accepted (RFC 6238 §5.2: a
	// code is accepted once).
	FactorTOTP = "totp"
	// FactorRecovery is one one-time recovery code: ID is its keyed hash
	// (the code itself is never stored), Counter 1 once used.
	FactorRecovery = "recovery"
	// FactorResetLink is an administrator's one-time password reset
	// link: ID is "reset-" and the hash of the link's secret, Counter 1
	// once used; it expires ResetLinkTTL after CreatedAt. Not a sign-in
	// method: the account page does not list it.
	FactorResetLink = "reset_link"
	// FactorPasskey is a passkey (WebAuthn credential, internal/passkey):
	// ID is "pk-" and the credential ID (base64url), Secret the
	// credential record as JSON (public key, flags, transports: nothing
	// secret), Counter the authenticator's signature counter.
	FactorPasskey = "passkey"
)

// ResetLinkTTL is how long a password reset link stays valid.
const ResetLinkTTL = 24 * time.Hour

// Factor is one sign-in method of a user besides the password.
type Factor struct {
	UserID string
	ID     string // unique per user
	Kind   string // FactorTOTP, FactorRecovery, …
	Name   string // shown on the account page
	// Secret is kind-specific and opaque to the store (a sealed TOTP
	// key, a passkey's credential); nil for recovery codes.
	Secret []byte
	// Counter only grows (AdvanceFactor): a TOTP's last accepted step, a
	// recovery code's use, a passkey's signature counter.
	Counter    int64
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// Upstream link policies: how a first sign-in through an upstream finds
// its Latch user.
const (
	// LinkJIT creates a user on the first sign-in (just in time).
	LinkJIT = "jit"
	// LinkVerifiedEmail links to the existing user whose verified email
	// is the upstream's verified email; no such user is refused.
	LinkVerifiedEmail = "verified-email"
	// LinkExplicit links only from the account page ("link"), by a user
	// signed in another way.
	LinkExplicit = "explicit"
)

// Upstream is an upstream OpenID Provider ("Sign in with …").
type Upstream struct {
	ID       string // short name in URLs and commands: [a-z0-9-]
	Issuer   string // its issuer URL (OIDC Discovery)
	ClientID string // Latch's client ID at the upstream
	// ClientSecret is Latch's client secret at the upstream, sealed by
	// the server (opaque to the store); nil for a public client.
	ClientSecret []byte
	Scopes       []string // asked for; always includes openid
	DisplayName  string   // "Sign in with <DisplayName>"
	// Claims of the upstream's ID token mapped to the user's fields.
	UsernameClaim, EmailClaim, NameClaim string
	LinkPolicy                           string // LinkJIT, LinkVerifiedEmail, LinkExplicit
	CreatedAt, UpdatedAt                 time.Time
}

// UpstreamLink says that an upstream's subject (its ID token's sub) is a
// Latch user.
type UpstreamLink struct {
	UpstreamID string
	Subject    string
	UserID     string
	CreatedAt  time.Time
}

// Session is an SSO session at Latch (the browser's cookie).
type Session struct {
	ID string // hash of the cookie value; the lookup key, never shown
	// SID is the session's public identifier: random, stable for the
	// session's life, unrelated to the cookie. ID tokens carry it as
	// "sid" (OIDC Front-/Back-Channel Logout) and codes and grants
	// record it as their SessionID.
	SID       string
	UserID    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	// AMR lists the authentication methods used (e.g. "pwd").
	AMR []string
}

// Consent is a user's remembered decision for a client.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// AuthCode is an issued authorization code (RFC 6749 §4.1.2).
type AuthCode struct {
	Hash     string // hash of the code
	ClientID string
	UserID   string
	// SessionID is the SID of the SSO session the code was issued under.
	SessionID string
	// GrantID is the ID the grant will have once the code is redeemed;
	// it is fixed at issuance so a replayed code can revoke the grant.
	GrantID string
	// RedirectURI as sent in the authorization request ("" if omitted).
	RedirectURI         string
	Scopes              []string
	Audiences           []string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	DPoPJKT             string // dpop_jkt bound at the authorization request
	AuthTime            time.Time
	AMR                 []string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              time.Time // zero until consumed
	// Failures counts refused redemptions (RecordCodeFailure).
	Failures int
}

// Grant is a token family: everything issued from one authorization.
type Grant struct {
	ID        string
	ClientID  string
	UserID    string // "" for client credentials
	SessionID string
	Scopes    []string
	Audiences []string
	AuthTime  time.Time
	AMR       []string
	Nonce     string
	DPoPJKT   string // key the refresh tokens are bound to, if any
	CreatedAt time.Time
	// AbsoluteExpiresAt bounds every refresh token of the grant.
	AbsoluteExpiresAt time.Time
	RevokedAt         time.Time // zero unless revoked
	// RevokedReason says why it was revoked; "" unless revoked (and for
	// grants revoked before reasons were recorded).
	RevokedReason Reason
}

// Reason is a stable code saying why a grant (and so its refresh tokens)
// ended. The codes are an API: the token endpoint ends its invalid_grant
// error_description with " (reason: CODE)", audit events carry them as
// "reason", and the admin API shows RevokedReason; docs/tokens.md says
// what each means and what an app should do. Never rename one.
type Reason string

// Reasons stored with a revocation (Grant.RevokedReason).
const (
	// ReasonReused: a rotated refresh token was presented again outside
	// the grace window; the family was revoked (RFC 9700 §4.14.2).
	ReasonReused Reason = "reused"
	// ReasonCodeReplayed: the authorization code the grant came from was
	// redeemed twice (RFC 6749 §4.1.2, RFC 9700 §4.5), or its device_code
	// was polled again after it had yielded tokens (RFC 8628 §3.5: a
	// device_code is as single-use as a code).
	ReasonCodeReplayed Reason = "code_replayed"
	// ReasonRevokedByClient: the client revoked the refresh token
	// (RFC 7009 §2.1).
	ReasonRevokedByClient Reason = "revoked_by_client"
	// ReasonLogout: the user signed out through this client
	// (RP-Initiated Logout) and it has RevokeRefreshOnLogout.
	ReasonLogout Reason = "logout"
	// ReasonSessionEnded: the user ended the Latch session the grant was
	// issued in, through another client or Latch itself, and this client
	// has RevokeRefreshOnLogout.
	ReasonSessionEnded Reason = "session_ended"
	// ReasonAdmin: an administrator logged the user out everywhere.
	ReasonAdmin Reason = "admin"
	// ReasonPasswordChanged: the password was set with logout.
	ReasonPasswordChanged Reason = "password_changed"
	// ReasonRevokedByUser: the user removed the app on the account page.
	ReasonRevokedByUser Reason = "revoked_by_user"
)

// Reasons that are not stored: a token's expiry is read from its times,
// and a deleted client or user takes its grants with it (they appear in
// audit events only).
const (
	// ReasonIdleExpired: the refresh token was not used within the
	// client's idle lifetime.
	ReasonIdleExpired Reason = "idle_expired"
	// ReasonAbsoluteExpired: the grant reached its absolute lifetime.
	ReasonAbsoluteExpired Reason = "absolute_expired"
	// ReasonClientDeleted: the client was deleted with its grants.
	ReasonClientDeleted Reason = "client_deleted"
	// ReasonUserDeleted: the user was deleted with their grants.
	ReasonUserDeleted Reason = "user_deleted"
)

// Reasons returns every reason code (docs_test checks that docs/tokens.md
// has a row for each).
func Reasons() []Reason {
	return []Reason{
		ReasonReused, ReasonCodeReplayed, ReasonIdleExpired, ReasonAbsoluteExpired, ReasonRevokedByClient,
		ReasonLogout, ReasonSessionEnded, ReasonAdmin, ReasonPasswordChanged, ReasonRevokedByUser, ReasonClientDeleted, ReasonUserDeleted,
	}
}

// RefreshToken is one link in a grant's rotation chain.
type RefreshToken struct {
	Hash      string
	GrantID   string
	ClientID  string
	UserID    string
	Scopes    []string // may be narrower than the grant's
	CreatedAt time.Time
	ExpiresAt time.Time // idle expiry
	// RotatedAt and SuccessorHash are set when it has been exchanged.
	RotatedAt     time.Time
	SuccessorHash string
}

// BackchannelLogout is one Logout Token waiting in the outbox
// (OpenID Connect Back-Channel Logout 1.0 §2.4–2.5). The token itself is
// signed at each delivery attempt from these fields.
type BackchannelLogout struct {
	ID        string // random, set by the backend; the Logout Token's jti
	ClientID  string
	URI       string // the client's backchannel_logout_uri when enqueued
	Subject   string // the user's sub
	SID       string // the ended session's sid
	CreatedAt time.Time
	// NextAttemptAt is when it is next due; Attempts counts failed tries
	// and LastError says why the last one failed.
	NextAttemptAt time.Time
	Attempts      int
	LastError     string
	// LeaseUntil: claimed by a worker until then (zero when unclaimed).
	LeaseUntil time.Time
}

// SigningKey is a JWT signing key; the private key is encrypted at rest.
type SigningKey struct {
	ID      string // kid
	Alg     string // RS256, ES256, EdDSA
	Private []byte // encrypted private key (token package's format)
	Public  []byte // public JWK, JSON
	// CreatedAt is when the key was stored; it is published in the JWKS
	// from then on (once ActivateAt is set).
	CreatedAt time.Time
	// ActivateAt is when the key starts signing; it signs until the key
	// of its Alg with the next ActivateAt activates (then it is retired).
	// Zero: never scheduled, never published.
	ActivateAt time.Time
}
