package passkey

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// TestNewRPID: the RP ID is the issuer's host or a parent domain of it
// (WebAuthn §5.1.3); anything else stops start-up with a clear error,
// and an issuer browsers offer no passkeys to turns them off.
func TestNewRPID(t *testing.T) {
	for _, tc := range []struct {
		issuer, rpID, want, err string
		off                     bool
	}{
		{issuer: "https://id.example.com", want: "id.example.com"},
		{issuer: "https://ID.Example.com:8443/tenant", want: "id.example.com"},
		{issuer: "https://id.example.com", rpID: "example.com", want: "example.com"},
		{issuer: "http://localhost:8080", want: "localhost"},
		{issuer: "http://auth.localhost:8080", want: "auth.localhost"},
		{issuer: "https://id.example.com", rpID: "other.com", err: "neither the issuer's host"},
		{issuer: "https://id.example.com", rpID: "xample.com", err: "neither the issuer's host"},
		{issuer: "https://id.example.com", rpID: "login.id.example.com", err: "neither the issuer's host"},
		{issuer: "https://id.example.com", rpID: "com", err: "top-level domain"},
		{issuer: "https://10.0.0.1", rpID: "10.0.0.1", err: "IP address"},
		{issuer: "http://id.example.com", rpID: "id.example.com", err: "not https"},
		{issuer: "https://10.0.0.1", off: true},
		{issuer: "http://127.0.0.1:8080", off: true},
		{issuer: "http://id.example.com", off: true},
		{issuer: "https://auth:8443", off: true},
		{issuer: "https://auth:8443", rpID: "auth", err: "top-level domain"},
	} {
		rp, err := New(tc.issuer, tc.rpID, "Latch")
		switch {
		case tc.off:
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("New(%q, %q) = %v, want ErrUnavailable", tc.issuer, tc.rpID, err)
			}
		case tc.err != "":
			if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%q, %q) = %v, want an error containing %q", tc.issuer, tc.rpID, err, tc.err)
			}
		case err != nil:
			t.Errorf("New(%q, %q): %v", tc.issuer, tc.rpID, err)
		case rp.ID() != tc.want:
			t.Errorf("New(%q, %q).ID() = %q, want %q", tc.issuer, tc.rpID, rp.ID(), tc.want)
		}
	}
}

// TestPasskeyFlagsAgree: registration.PasskeyFlags (which the admin
// service uses without linking go-webauthn) reads the flags of the
// credential record this package stores.
func TestPasskeyFlagsAgree(t *testing.T) {
	for _, be := range []bool{false, true} {
		c := webauthn.Credential{ID: []byte{1, 2, 3}, Flags: webauthn.CredentialFlags{BackupEligible: be, BackupState: be}}
		secret, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := Describe(store.Factor{Kind: Kind, Secret: secret})
		if want := (registration.PasskeyInfo{BackupEligible: be, BackedUp: be}); !ok || got != want {
			t.Errorf("Describe(flags %v) = %+v, %v; want %+v", be, got, ok, want)
		}
	}
}

// TestAMR: a synced passkey is swk, a device-bound one hwk; mfa only
// when the user was verified.
func TestAMR(t *testing.T) {
	for _, tc := range []struct {
		a    Assertion
		want string
	}{
		{Assertion{UserVerified: true}, "hwk mfa"},
		{Assertion{UserVerified: true, BackupEligible: true}, "swk mfa"},
		{Assertion{}, "hwk"},
	} {
		got := strings.Join(tc.a.AMR(), " ")
		if got != tc.want {
			t.Errorf("%+v.AMR() = %q, want %q", tc.a, got, tc.want)
		}
		if oauth.ACRFor(tc.a.AMR()) != oauth.ACRPhishingResistant {
			t.Errorf("acr of %q = %q, want phr", got, oauth.ACRFor(tc.a.AMR()))
		}
	}
}
