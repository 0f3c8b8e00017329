package registration

import (
	"fmt"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/token"
)

// Authentication policies (config authentication-policy, a client's
// authentication_policy): how a user must sign in.
const (
	// PolicyPassword: a password is enough (the default). A user who
	// has a second factor is still asked for it.
	PolicyPassword = "password"
	// PolicySecondFactor: a password and a second factor (TOTP).
	PolicySecondFactor = "second_factor"
	// PolicyPasskey: a passkey sign-in (acr phr); a user without a
	// passkey gets unmet_authentication_requirements, and so does every
	// user when passkeys are off.
	PolicyPasskey = "passkey"
)

// Policies are the known policies, weakest first.
func Policies() []string { return []string{PolicyPassword, PolicySecondFactor, PolicyPasskey} }

// CheckPolicy accepts "" (the default) and the known policies.
func CheckPolicy(p string) error {
	switch p {
	case "", PolicyPassword, PolicySecondFactor, PolicyPasskey:
		return nil
	}
	return fmt.Errorf("authentication policy %q is not one of %s", p, orList(Policies()))
}

// PolicyACR is the acr a policy requires ("" for none beyond a sign-in).
func PolicyACR(p string) string {
	switch p {
	case PolicySecondFactor:
		return oauth.ACRMFA
	case PolicyPasskey:
		return oauth.ACRPhishingResistant
	}
	return ""
}

// ResetLinkID is the stored ID (store.Factor.ID) of a password reset
// link's secret: the manage service issues it, the account page spends
// it.
func ResetLinkID(secret string) string { return "reset-" + token.Hash(secret) }
