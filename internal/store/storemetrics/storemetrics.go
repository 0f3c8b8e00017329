package storemetrics

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// Observer records one store call: the store.Store method's name, how
// long it took, and whether it failed.
type Observer interface {
	ObserveStore(method string, d time.Duration, failed bool)
}

// Instrument wraps st so every call is reported to o. The sentinel errors
// of the store contract are outcomes, not failures, and neither is a
// cancelled context. With a nil o it returns st unchanged.
//
// The wrapper embeds st: a method added to store.Store later still works
// (uninstrumented) until it is added here; TestInstrumentCoversEveryMethod
// fails until then.
func Instrument(st store.Store, o Observer) store.Store {
	if o == nil || st == nil {
		return st
	}
	return &instrumentedStore{Store: st, o: o}
}

type instrumentedStore struct {
	store.Store
	o Observer
}

// contractErrors are the store's documented outcomes (store.go).
var contractErrors = []error{
	store.ErrNotFound, store.ErrAlreadyExists, store.ErrCodeUsed,
	store.ErrRefreshReused, store.ErrRevoked, store.ErrExpired,
}

func (i *instrumentedStore) done(method string, start time.Time, err error) {
	failed := false
	if err != nil {
		failed = true
		for _, ce := range contractErrors {
			if errors.Is(err, ce) {
				failed = false
				break
			}
		}
		if errors.Is(err, context.Canceled) {
			failed = false // the client went away; not the database's fault
		}
	}
	i.o.ObserveStore(method, time.Since(start), failed)
}

func (i *instrumentedStore) Close() error {
	start := time.Now()
	err := i.Store.Close()
	i.done("Close", start, err)
	return err
}

func (i *instrumentedStore) CreateClient(ctx context.Context, c store.Client) error {
	start := time.Now()
	err := i.Store.CreateClient(ctx, c)
	i.done("CreateClient", start, err)
	return err
}

func (i *instrumentedStore) GetClient(ctx context.Context, id string) (store.Client, error) {
	start := time.Now()
	v, err := i.Store.GetClient(ctx, id)
	i.done("GetClient", start, err)
	return v, err
}

func (i *instrumentedStore) ListClients(ctx context.Context) ([]store.Client, error) {
	start := time.Now()
	v, err := i.Store.ListClients(ctx)
	i.done("ListClients", start, err)
	return v, err
}

func (i *instrumentedStore) UpdateClient(ctx context.Context, c store.Client) error {
	start := time.Now()
	err := i.Store.UpdateClient(ctx, c)
	i.done("UpdateClient", start, err)
	return err
}

func (i *instrumentedStore) DeleteClient(ctx context.Context, id string) error {
	start := time.Now()
	err := i.Store.DeleteClient(ctx, id)
	i.done("DeleteClient", start, err)
	return err
}

func (i *instrumentedStore) CreateUser(ctx context.Context, u store.User) error {
	start := time.Now()
	err := i.Store.CreateUser(ctx, u)
	i.done("CreateUser", start, err)
	return err
}

func (i *instrumentedStore) GetUser(ctx context.Context, id string) (store.User, error) {
	start := time.Now()
	v, err := i.Store.GetUser(ctx, id)
	i.done("GetUser", start, err)
	return v, err
}

func (i *instrumentedStore) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	start := time.Now()
	v, err := i.Store.GetUserByUsername(ctx, username)
	i.done("GetUserByUsername", start, err)
	return v, err
}

func (i *instrumentedStore) ListUsers(ctx context.Context) ([]store.User, error) {
	start := time.Now()
	v, err := i.Store.ListUsers(ctx)
	i.done("ListUsers", start, err)
	return v, err
}

func (i *instrumentedStore) SetUserPassword(ctx context.Context, id string, passwordHash string) error {
	start := time.Now()
	err := i.Store.SetUserPassword(ctx, id, passwordHash)
	i.done("SetUserPassword", start, err)
	return err
}

func (i *instrumentedStore) DeleteUser(ctx context.Context, id string) error {
	start := time.Now()
	err := i.Store.DeleteUser(ctx, id)
	i.done("DeleteUser", start, err)
	return err
}

func (i *instrumentedStore) CreateSession(ctx context.Context, s store.Session) error {
	start := time.Now()
	err := i.Store.CreateSession(ctx, s)
	i.done("CreateSession", start, err)
	return err
}

func (i *instrumentedStore) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	start := time.Now()
	v, err := i.Store.GetSession(ctx, id, now)
	i.done("GetSession", start, err)
	return v, err
}

func (i *instrumentedStore) DeleteSession(ctx context.Context, id string) error {
	start := time.Now()
	err := i.Store.DeleteSession(ctx, id)
	i.done("DeleteSession", start, err)
	return err
}

func (i *instrumentedStore) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	start := time.Now()
	v, err := i.Store.ListUserSessions(ctx, userID, now)
	i.done("ListUserSessions", start, err)
	return v, err
}

func (i *instrumentedStore) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	start := time.Now()
	v, err := i.Store.DeleteUserSessions(ctx, userID)
	i.done("DeleteUserSessions", start, err)
	return v, err
}

func (i *instrumentedStore) GetConsent(ctx context.Context, userID string, clientID string) (store.Consent, error) {
	start := time.Now()
	v, err := i.Store.GetConsent(ctx, userID, clientID)
	i.done("GetConsent", start, err)
	return v, err
}

func (i *instrumentedStore) SaveConsent(ctx context.Context, c store.Consent) error {
	start := time.Now()
	err := i.Store.SaveConsent(ctx, c)
	i.done("SaveConsent", start, err)
	return err
}

func (i *instrumentedStore) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	start := time.Now()
	err := i.Store.CreateAuthCode(ctx, c)
	i.done("CreateAuthCode", start, err)
	return err
}

func (i *instrumentedStore) CreateAuthCodeOnce(ctx context.Context, c store.AuthCode, keys []string, keysExpire time.Time, exclusive bool) ([]bool, error) {
	start := time.Now()
	seen, err := i.Store.CreateAuthCodeOnce(ctx, c, keys, keysExpire, exclusive)
	i.done("CreateAuthCodeOnce", start, err)
	return seen, err
}

func (i *instrumentedStore) ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	start := time.Now()
	v, err := i.Store.ConsumeAuthCode(ctx, hash, now)
	i.done("ConsumeAuthCode", start, err)
	return v, err
}

func (i *instrumentedStore) RedeemAuthCode(ctx context.Context, hash string, now time.Time, g store.Grant, rt *store.RefreshToken) (store.AuthCode, error) {
	start := time.Now()
	v, err := i.Store.RedeemAuthCode(ctx, hash, now, g, rt)
	i.done("RedeemAuthCode", start, err)
	return v, err
}

func (i *instrumentedStore) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	start := time.Now()
	v, err := i.Store.GetAuthCode(ctx, hash)
	i.done("GetAuthCode", start, err)
	return v, err
}

func (i *instrumentedStore) RecordCodeFailure(ctx context.Context, hash string, now time.Time, max int) (int, error) {
	start := time.Now()
	v, err := i.Store.RecordCodeFailure(ctx, hash, now, max)
	i.done("RecordCodeFailure", start, err)
	return v, err
}

func (i *instrumentedStore) CreateGrant(ctx context.Context, g store.Grant, rt *store.RefreshToken) error {
	start := time.Now()
	err := i.Store.CreateGrant(ctx, g, rt)
	i.done("CreateGrant", start, err)
	return err
}

func (i *instrumentedStore) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	start := time.Now()
	v, err := i.Store.GetGrant(ctx, id)
	i.done("GetGrant", start, err)
	return v, err
}

func (i *instrumentedStore) RevokeGrant(ctx context.Context, id string, now time.Time, reason store.Reason) error {
	start := time.Now()
	err := i.Store.RevokeGrant(ctx, id, now, reason)
	i.done("RevokeGrant", start, err)
	return err
}

func (i *instrumentedStore) RevokeUserGrants(ctx context.Context, userID string, clientID string, now time.Time, reason store.Reason) (int, error) {
	start := time.Now()
	v, err := i.Store.RevokeUserGrants(ctx, userID, clientID, now, reason)
	i.done("RevokeUserGrants", start, err)
	return v, err
}

func (i *instrumentedStore) RevokeSessionGrants(ctx context.Context, sid, exceptClientID string, now time.Time, reason store.Reason) (int, error) {
	start := time.Now()
	v, err := i.Store.RevokeSessionGrants(ctx, sid, exceptClientID, now, reason)
	i.done("RevokeSessionGrants", start, err)
	return v, err
}

func (i *instrumentedStore) ListUserGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	start := time.Now()
	v, err := i.Store.ListUserGrants(ctx, userID)
	i.done("ListUserGrants", start, err)
	return v, err
}

func (i *instrumentedStore) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	start := time.Now()
	v, err := i.Store.GetRefreshToken(ctx, hash)
	i.done("GetRefreshToken", start, err)
	return v, err
}

func (i *instrumentedStore) RotateRefreshToken(ctx context.Context, hash string, next store.RefreshToken, now time.Time, grace time.Duration) (store.RefreshToken, store.RotateResult, error) {
	start := time.Now()
	v, v2, err := i.Store.RotateRefreshToken(ctx, hash, next, now, grace)
	i.done("RotateRefreshToken", start, err)
	return v, v2, err
}

func (i *instrumentedStore) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	start := time.Now()
	err := i.Store.RevokeAccessToken(ctx, jti, expiresAt)
	i.done("RevokeAccessToken", start, err)
	return err
}

func (i *instrumentedStore) IsAccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	start := time.Now()
	v, err := i.Store.IsAccessTokenRevoked(ctx, jti)
	i.done("IsAccessTokenRevoked", start, err)
	return v, err
}

func (i *instrumentedStore) CreateKey(ctx context.Context, k store.SigningKey) error {
	start := time.Now()
	err := i.Store.CreateKey(ctx, k)
	i.done("CreateKey", start, err)
	return err
}

func (i *instrumentedStore) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	start := time.Now()
	v, err := i.Store.ListKeys(ctx)
	i.done("ListKeys", start, err)
	return v, err
}

func (i *instrumentedStore) ScheduleKey(ctx context.Context, k store.SigningKey, after time.Time) error {
	start := time.Now()
	err := i.Store.ScheduleKey(ctx, k, after)
	i.done("ScheduleKey", start, err)
	return err
}

func (i *instrumentedStore) DeleteKey(ctx context.Context, id string) error {
	start := time.Now()
	err := i.Store.DeleteKey(ctx, id)
	i.done("DeleteKey", start, err)
	return err
}

func (i *instrumentedStore) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	start := time.Now()
	err := i.Store.UseOnce(ctx, key, expiresAt)
	i.done("UseOnce", start, err)
	return err
}

func (i *instrumentedStore) CreatePushedRequest(ctx context.Context, p store.PushedRequest) error {
	start := time.Now()
	err := i.Store.CreatePushedRequest(ctx, p)
	i.done("CreatePushedRequest", start, err)
	return err
}

func (i *instrumentedStore) ConsumePushedRequest(ctx context.Context, hash string, now time.Time) (store.PushedRequest, error) {
	start := time.Now()
	v, err := i.Store.ConsumePushedRequest(ctx, hash, now)
	i.done("ConsumePushedRequest", start, err)
	return v, err
}

func (i *instrumentedStore) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	start := time.Now()
	err := i.Store.CreateDeviceCode(ctx, d)
	i.done("CreateDeviceCode", start, err)
	return err
}

func (i *instrumentedStore) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (store.DeviceCode, error) {
	start := time.Now()
	v, err := i.Store.GetDeviceCodeByUserCode(ctx, userCodeHash)
	i.done("GetDeviceCodeByUserCode", start, err)
	return v, err
}

func (i *instrumentedStore) DecideDeviceCode(ctx context.Context, userCodeHash string, now time.Time, d store.DeviceDecision) (store.DeviceCode, error) {
	start := time.Now()
	v, err := i.Store.DecideDeviceCode(ctx, userCodeHash, now, d)
	i.done("DecideDeviceCode", start, err)
	return v, err
}

func (i *instrumentedStore) PollDeviceCode(ctx context.Context, hash string, now time.Time, step time.Duration) (store.DeviceCode, bool, error) {
	start := time.Now()
	v, slow, err := i.Store.PollDeviceCode(ctx, hash, now, step)
	i.done("PollDeviceCode", start, err)
	return v, slow, err
}

func (i *instrumentedStore) RedeemDeviceCode(ctx context.Context, hash string, now time.Time, g store.Grant, rt *store.RefreshToken) (store.DeviceCode, error) {
	start := time.Now()
	v, err := i.Store.RedeemDeviceCode(ctx, hash, now, g, rt)
	i.done("RedeemDeviceCode", start, err)
	return v, err
}

func (i *instrumentedStore) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	start := time.Now()
	v, err := i.Store.RecordFailure(ctx, key, now, window)
	i.done("RecordFailure", start, err)
	return v, err
}

func (i *instrumentedStore) AccessTokenState(ctx context.Context, jti, grantID string) (store.AccessTokenState, error) {
	start := time.Now()
	v, err := i.Store.AccessTokenState(ctx, jti, grantID)
	i.done("AccessTokenState", start, err)
	return v, err
}

func (i *instrumentedStore) GetRefreshGrant(ctx context.Context, hash string) (store.RefreshToken, store.Grant, error) {
	start := time.Now()
	t, g, err := i.Store.GetRefreshGrant(ctx, hash)
	i.done("GetRefreshGrant", start, err)
	return t, g, err
}

func (i *instrumentedStore) FailureKeys(ctx context.Context, prefix string, now time.Time) ([]string, error) {
	start := time.Now()
	v, err := i.Store.FailureKeys(ctx, prefix, now)
	i.done("FailureKeys", start, err)
	return v, err
}

func (i *instrumentedStore) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	start := time.Now()
	v, err := i.Store.Failures(ctx, key, now, window)
	i.done("Failures", start, err)
	return v, err
}

func (i *instrumentedStore) ClearFailures(ctx context.Context, key string) error {
	start := time.Now()
	err := i.Store.ClearFailures(ctx, key)
	i.done("ClearFailures", start, err)
	return err
}

func (i *instrumentedStore) ReserveAttempt(ctx context.Context, now time.Time, window, lease time.Duration, budgets ...store.Budget) ([]int, bool, bool, error) {
	start := time.Now()
	v, ok, busy, err := i.Store.ReserveAttempt(ctx, now, window, lease, budgets...)
	i.done("ReserveAttempt", start, err)
	return v, ok, busy, err
}

func (i *instrumentedStore) ConfirmAttempt(ctx context.Context, now, at time.Time, window time.Duration, keys ...string) ([]int, error) {
	start := time.Now()
	v, err := i.Store.ConfirmAttempt(ctx, now, at, window, keys...)
	i.done("ConfirmAttempt", start, err)
	return v, err
}

func (i *instrumentedStore) ReleaseAttempt(ctx context.Context, at time.Time, keys ...string) error {
	start := time.Now()
	err := i.Store.ReleaseAttempt(ctx, at, keys...)
	i.done("ReleaseAttempt", start, err)
	return err
}

func (i *instrumentedStore) DeleteExpired(ctx context.Context, now time.Time, batch int) (int, error) {
	start := time.Now()
	v, err := i.Store.DeleteExpired(ctx, now, batch)
	i.done("DeleteExpired", start, err)
	return v, err
}

func (i *instrumentedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := i.Store.Ping(ctx)
	i.done("Ping", start, err)
	return err
}

func (i *instrumentedStore) EndSession(ctx context.Context, id string, now time.Time) (int, error) {
	start := time.Now()
	v, err := i.Store.EndSession(ctx, id, now)
	i.done("EndSession", start, err)
	return v, err
}

func (i *instrumentedStore) EndUserSessions(ctx context.Context, userID string, now time.Time) (int, int, error) {
	start := time.Now()
	ended, queued, err := i.Store.EndUserSessions(ctx, userID, now)
	i.done("EndUserSessions", start, err)
	return ended, queued, err
}

func (i *instrumentedStore) ClaimBackchannelLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.BackchannelLogout, error) {
	start := time.Now()
	v, err := i.Store.ClaimBackchannelLogouts(ctx, now, lease, limit)
	i.done("ClaimBackchannelLogouts", start, err)
	return v, err
}

func (i *instrumentedStore) FinishBackchannelLogout(ctx context.Context, id string, leaseUntil time.Time) error {
	start := time.Now()
	err := i.Store.FinishBackchannelLogout(ctx, id, leaseUntil)
	i.done("FinishBackchannelLogout", start, err)
	return err
}

func (i *instrumentedStore) RetryBackchannelLogout(ctx context.Context, id string, leaseUntil, next time.Time, lastError string) error {
	start := time.Now()
	err := i.Store.RetryBackchannelLogout(ctx, id, leaseUntil, next, lastError)
	i.done("RetryBackchannelLogout", start, err)
	return err
}

func (i *instrumentedStore) PendingBackchannelLogouts(ctx context.Context) (int, error) {
	start := time.Now()
	v, err := i.Store.PendingBackchannelLogouts(ctx)
	i.done("PendingBackchannelLogouts", start, err)
	return v, err
}

func (i *instrumentedStore) CreateInitialAccessToken(ctx context.Context, t store.InitialAccessToken) error {
	start := time.Now()
	err := i.Store.CreateInitialAccessToken(ctx, t)
	i.done("CreateInitialAccessToken", start, err)
	return err
}

func (i *instrumentedStore) UseInitialAccessToken(ctx context.Context, hash string, now time.Time) (store.InitialAccessToken, error) {
	start := time.Now()
	v, err := i.Store.UseInitialAccessToken(ctx, hash, now)
	i.done("UseInitialAccessToken", start, err)
	return v, err
}
