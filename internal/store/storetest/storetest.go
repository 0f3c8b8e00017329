package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// base is the fixed "now" every test derives its times from.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns base+d.
func at(d time.Duration) time.Time { return base.Add(d) }

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// tests is the whole suite, one fresh store per entry.
func tests() []test {
	var all []test
	all = append(all, identityTests()...)
	all = append(all, tokenTests()...)
	all = append(all, codeOnceTests()...)
	all = append(all, miscTests()...)
	all = append(all, raceTests()...)
	all = append(all, pushedTests()...)
	all = append(all, backchannelTests()...)
	all = append(all, factorTests()...)
	all = append(all, registrationTests()...)
	all = append(all, deviceTests()...)
	all = append(all, upstreamTests()...)
	all = append(all, passkeyTests()...)
	return all
}

func identityTests() []test {
	return []test{
		{"Client/CreateGet", testClientCreateGet},
		{"Client/EmptyFields", testClientEmptyFields},
		{"Client/Duplicate", testClientDuplicate},
		{"Client/NotFound", testClientNotFound},
		{"Client/List", testClientList},
		{"Client/Update", testClientUpdate},
		{"Client/Delete", testClientDelete},
		{"Time/Precision", testTimePrecision},
		{"User/CreateGet", testUserCreateGet},
		{"User/Duplicate", testUserDuplicate},
		{"User/UsernameCaseSensitive", testUserCaseSensitive},
		{"User/NotFound", testUserNotFound},
		{"User/List", testUserList},
		{"User/SetPassword", testUserSetPassword},
		{"User/DeleteCascades", testUserDelete},
		{"Session/CreateGet", testSessionCreateGet},
		{"Session/Expiry", testSessionExpiry},
		{"Session/Duplicate", testSessionDuplicate},
		{"Session/Delete", testSessionDelete},
		{"Session/ListUser", testSessionListUser},
		{"Session/DeleteUser", testSessionDeleteUser},
		{"Consent/Upsert", testConsentUpsert},
	}
}

func tokenTests() []test {
	return []test{
		{"AuthCode/CreateConsume", testCodeConsume},
		{"AuthCode/Duplicate", testCodeDuplicate},
		{"AuthCode/Unknown", testCodeUnknown},
		{"AuthCode/Expired", testCodeExpired},
		{"AuthCode/UsedWinsOverExpired", testCodeUsedAndExpired},
		{"AuthCode/Get", testCodeGet},
		{"AuthCode/RecordFailure", testCodeRecordFailure},
		{"AuthCode/RecordFailureUsedOrUnknown", testCodeRecordFailureUsed},
		{"AuthCode/Redeem", testCodeRedeem},
		{"AuthCode/RedeemWithoutRefresh", testCodeRedeemWithoutRefresh},
		{"AuthCode/RedeemRefused", testCodeRedeemRefused},
		{"Grant/CreateWithoutRefresh", testGrantCreate},
		{"Grant/CreateWithRefresh", testGrantCreateWithRefresh},
		{"Grant/CreateAtomic", testGrantCreateAtomic},
		{"Grant/NotFound", testGrantNotFound},
		{"Grant/RevokeIdempotent", testGrantRevoke},
		{"Grant/RevokeUserGrants", testRevokeUserGrants},
		{"Grant/RevokeUserGrantsClient", testRevokeUserGrantsClient},
		{"Grant/ListUser", testListUserGrants},
		{"Grant/RevokeReasons", testRevokeReasons},
		{"Grant/RevokeReasonKept", testRevokeReasonKept},
		{"Grant/RevokeSessionGrants", testRevokeSessionGrants},
		{"Refresh/ReuseReason", testRotateReuseReason},
		{"Refresh/GetNotFound", testRefreshGet},
		{"Refresh/GetRefreshGrant", testRefreshGrant},
		{"Refresh/Rotated", testRotateRotated},
		{"Refresh/Chain", testRotateChain},
		{"Refresh/Grace", testRotateGrace},
		{"Refresh/GraceZeroIsStrict", testRotateGraceZero},
		{"Refresh/GraceHeadPredecessor", testRotateGraceHeadPredecessor},
		{"Refresh/GraceOlderTokenIsReuse", testRotateGraceOlderIsReuse},
		{"Refresh/Reuse", testRotateReuse},
		{"Refresh/Unknown", testRotateUnknown},
		{"Refresh/ExpiredIdle", testRotateExpiredIdle},
		{"Refresh/ExpiredAbsolute", testRotateExpiredAbsolute},
		{"Refresh/NoAbsoluteBound", testRotateNoAbsolute},
		{"Refresh/Revoked", testRotateRevoked},
		{"Refresh/RevokedWinsOverReuse", testRotateRevokedRotated},
		{"Refresh/NextCollision", testRotateNextCollision},
		{"AccessToken/Revoke", testAccessTokenRevoke},
		{"AccessToken/State", testAccessTokenState},
	}
}

func miscTests() []test {
	return []test{
		{"Key/CreateList", testKeyCreateList},
		{"Key/Duplicate", testKeyDuplicate},
		{"Key/ScheduleSlot", testKeyScheduleSlot},
		{"Key/ScheduleFirst", testKeyScheduleFirst},
		{"Key/ScheduleNext", testKeyScheduleNext},
		{"Key/Delete", testKeyDelete},
		{"UseOnce", testUseOnce},
		{"Throttle/Window", testThrottleWindow},
		{"Throttle/Keys", testThrottleKeys},
		{"Throttle/FailureKeys", testFailureKeys},
		{"Throttle/Clear", testThrottleClear},
		{"Throttle/ReserveBudget", testReserveBudget},
		{"Throttle/ReserveAllOrNothing", testReserveAllOrNothing},
		{"Throttle/ReserveWindow", testReserveWindow},
		{"Throttle/Release", testReleaseAttempt},
		{"Throttle/Lease", testReserveLease},
		{"Throttle/Confirm", testConfirmAttempt},
		{"Throttle/ConfirmCounts", testConfirmCounts},
		{"Throttle/Busy", testReserveBusy},
		{"DeleteExpired/Batches", testDeleteExpiredBatches},
		{"DeleteExpired/KeepsLive", testDeleteExpiredKeeps},
		{"DeleteExpired/Failures", testDeleteExpiredFailures},
		{"DeleteExpired/RefreshHeads", testDeleteExpiredRefreshHeads},
		{"Ping", testPing},
	}
}

func testPing(t *testing.T, s store.Store) {
	must(t, s.Ping(t.Context()), "Ping")
}

// Run runs the conformance suite against the backend built by newStore.
// newStore must return a fresh, empty store for every call and close it
// in a t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range tests() {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.fn(t, s)
		})
	}
}

// --- assertions -------------------------------------------------------

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

// checkEqual fails the test with one line per differing field.
func checkEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s differs from what was stored:", what)
		if g, w := keys(got), keys(want); g != w {
			t.Errorf("  keys in order: got %s, want %s", g, w)
		}
		for _, line := range d {
			t.Errorf("  %s", line)
		}
	}
}

// keys lists the ID (or Hash) of each record of a slice, "" otherwise.
func keys(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.Struct {
		return ""
	}
	var ks []string
	for i := range rv.Len() {
		f := rv.Index(i).FieldByName("ID")
		if !f.IsValid() {
			f = rv.Index(i).FieldByName("Hash")
		}
		if !f.IsValid() {
			return ""
		}
		ks = append(ks, f.String())
	}
	return fmt.Sprintf("%q", ks)
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	bytesType = reflect.TypeFor[[]byte]()
)

// diff compares records field by field: times with time.Equal, slices
// element-wise with nil equal to empty, everything else with ==.
func diff(got, want any) []string {
	return diffValue("", reflect.ValueOf(got), reflect.ValueOf(want))
}

func diffValue(path string, g, w reflect.Value) []string {
	if g.Type() != w.Type() {
		return []string{fmt.Sprintf("%s: type %v, want %v", path, g.Type(), w.Type())}
	}
	switch {
	case g.Type() == timeType:
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !gt.Equal(wt) {
			return []string{fmt.Sprintf("%s = %s, want %s", path, fmtTime(gt), fmtTime(wt))}
		}
		return nil
	case g.Type() == bytesType:
		if !bytes.Equal(g.Bytes(), w.Bytes()) {
			return []string{fmt.Sprintf("%s = %x, want %x", path, g.Bytes(), w.Bytes())}
		}
		return nil
	}
	switch g.Kind() {
	case reflect.Struct:
		var out []string
		for i := range g.NumField() {
			f := g.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			out = append(out, diffValue(path+"."+f.Name, g.Field(i), w.Field(i))...)
		}
		return out
	case reflect.Slice:
		if g.Len() != w.Len() {
			return []string{fmt.Sprintf("%s = %s, want %s", path, fmtValue(g), fmtValue(w))}
		}
		var out []string
		for i := range g.Len() {
			out = append(out, diffValue(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))...)
		}
		return out
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			return []string{fmt.Sprintf("%s = %s, want %s", path, fmtValue(g), fmtValue(w))}
		}
		return nil
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.Format(time.RFC3339Nano)
}

func fmtValue(v reflect.Value) string {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
		return fmt.Sprintf("%q", v.Interface())
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
		return fmt.Sprintf("%d records", v.Len())
	}
	return fmt.Sprintf("%#v", v.Interface())
}

// --- fixtures ---------------------------------------------------------
//
// Every fixture fills every field with a distinct non-zero value, so a
// column a backend forgets to store or read shows up as a diff. Times are
// millisecond aligned (see the package doc).

func fixClient(id string) store.Client {
	return store.Client{
		ID:                     id,
		SecretHash:             "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA-" + id,
		Public:                 false,
		Name:                   `Client "` + id + `" – ünïcode & 'quotes'`,
		RedirectURIs:           []string{"https://app.example/cb", "http://127.0.0.1/cb", "https://app.example/cb?x=1 2"},
		PostLogoutRedirectURIs: []string{"https://app.example/bye"},
		AllowedOrigins:         []string{"https://app.example", "http://localhost:3000"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		Scopes:                 []string{"openid", "profile", "email", "offline_access"},
		Audiences:              []string{"https://api.example/", "urn:other"},
		FirstParty:             true,
		RequireDPoP:            true,
		IDTokenAlg:             "ES256",
		RefreshGrace:           7 * time.Second,
		RefreshIdle:            30 * 24 * time.Hour,
		RefreshAbsolute:        90*24*time.Hour + time.Nanosecond,
		AccessTokenTTL:         5 * time.Minute,
		RevokeRefreshOnLogout:  true,
		ResourceServer:         true,
		RequireFreshChallenge:  true,
		AuthenticationPolicy:   "second_factor",
		CreatedAt:              at(-48*time.Hour + 123*time.Millisecond),
		AuthMethod:             "private_key_jwt",
		JWKS:                   `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + id + `"}]}`,
		JWKSURI:                "https://app.example/jwks.json?c=" + id,
		RequirePAR:             true,

		BackchannelLogoutURI:             "https://app.example/backchannel-logout",
		BackchannelLogoutSessionRequired: true,
		Origin:                           store.OriginDCR,
		RegistrationTokenHash:            "rat-hash-" + id,
	}
}

func fixUser(id, username string) store.User {
	return store.User{
		ID:            id,
		Username:      username,
		Email:         username + "@example.com",
		EmailVerified: true,
		Name:          "User " + username + " Ñ",
		PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=2$" + id,
		CreatedAt:     at(-24*time.Hour + 456*time.Millisecond),
	}
}

func fixSession(id, userID string, expires time.Time) store.Session {
	return store.Session{
		ID:        id,
		SID:       "sid-of-" + id,
		UserID:    userID,
		AuthTime:  at(-time.Hour + 1*time.Millisecond),
		CreatedAt: at(-time.Hour + 2*time.Millisecond),
		ExpiresAt: expires,
		AMR:       []string{"pwd", "mfa"},
	}
}

func fixCode(hash, clientID, userID, grantID string, expires time.Time) store.AuthCode {
	return store.AuthCode{
		Hash:                hash,
		ClientID:            clientID,
		UserID:              userID,
		SessionID:           "session-of-" + hash,
		GrantID:             grantID,
		RedirectURI:         "https://app.example/cb",
		Scopes:              []string{"openid", "profile", "offline_access"},
		Audiences:           []string{"https://api.example/"},
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		DPoPJKT:             "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		AuthTime:            at(-time.Minute + 3*time.Millisecond),
		AMR:                 []string{"pwd"},
		CreatedAt:           at(-time.Second + 4*time.Millisecond),
		ExpiresAt:           expires,
	}
}

func fixGrant(id, clientID, userID string, absolute time.Time) store.Grant {
	return store.Grant{
		ID:                id,
		ClientID:          clientID,
		UserID:            userID,
		SessionID:         "session-of-" + id,
		Scopes:            []string{"openid", "offline_access", "profile"},
		Audiences:         []string{"https://api.example/", "urn:other"},
		AuthTime:          at(-time.Minute + 5*time.Millisecond),
		AMR:               []string{"pwd", "otp"},
		Nonce:             "nonce-" + id,
		DPoPJKT:           "jkt-" + id,
		CreatedAt:         at(6 * time.Millisecond),
		AbsoluteExpiresAt: absolute,
	}
}

func fixRefresh(hash string, g store.Grant, created, expires time.Time) store.RefreshToken {
	return store.RefreshToken{
		Hash:      hash,
		GrantID:   g.ID,
		ClientID:  g.ClientID,
		UserID:    g.UserID,
		Scopes:    []string{"openid", "offline_access"},
		CreatedAt: created,
		ExpiresAt: expires,
	}
}

func fixKey(id, alg string, created time.Time) store.SigningKey {
	return store.SigningKey{
		ID:        id,
		Alg:       alg,
		Private:   []byte("sealed:" + id + "\x00\xff\x01binary"),
		Public:    []byte(`{"kty":"EC","kid":"` + id + `"}`),
		CreatedAt: created,
	}
}

// Seeded records: two clients and two users most tests hang records on.
const (
	clientA = "client-a"
	clientB = "client-b"
	user1   = "user-1"
	user2   = "user-2"
)

func seed(t testing.TB, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, s.CreateClient(ctx, fixClient(clientA)), "CreateClient(client-a)")
	must(t, s.CreateClient(ctx, fixClient(clientB)), "CreateClient(client-b)")
	must(t, s.CreateUser(ctx, fixUser(user1, "alice")), "CreateUser(user-1)")
	must(t, s.CreateUser(ctx, fixUser(user2, "bob")), "CreateUser(user-2)")
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
