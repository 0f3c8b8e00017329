package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// Kind is the store.Factor kind of a passkey (store.FactorPasskey).
const Kind = store.FactorPasskey

// CeremonyTTL is how long a ceremony's challenge is accepted.
const CeremonyTTL = 5 * time.Minute

// MaxNameLen bounds a passkey's name (runes).
const MaxNameLen = 64

// ErrUnavailable is returned by New when the RP ID would be derived from
// an issuer browsers offer no passkeys to: a host that is an IP address
// (an RP ID is a domain, WebAuthn §5.1.3) or plain http to anything but
// localhost (WebAuthn needs a secure context). Passkeys are then off.
var ErrUnavailable = errors.New("passkey: unavailable for this issuer")

// RP is the relying party of one issuer. Safe for concurrent use.
type RP struct {
	wa     *webauthn.WebAuthn
	id     string
	origin string
}

// New makes the relying party for issuer. rpID "" derives it from the
// issuer's host (ErrUnavailable when browsers would offer no passkeys to
// it: an IP address, a single-label host other than localhost, plain
// http). An RP ID must be the issuer's host or a registrable suffix of it
// (WebAuthn §5.1.3: the browser refuses any other, so every ceremony
// would fail): New reports a configured mismatch at start-up instead. Not checked: the public suffix list
// (a single-label RP ID other than localhost is refused, which covers
// "com"; "co.uk" is the operator's mistake to avoid).
func New(issuer, rpID, product string) (*RP, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("passkey: issuer %q is not an absolute URL", issuer)
	}
	host := strings.ToLower(u.Hostname())
	derived := rpID == ""
	if derived {
		rpID = host
	}
	rpID = strings.ToLower(rpID)
	local := rpID == "localhost" || strings.HasSuffix(rpID, ".localhost")
	singleLabel := !strings.Contains(rpID, ".") && rpID != "localhost"
	if derived && (net.ParseIP(rpID) != nil || singleLabel || (u.Scheme != "https" && !local)) {
		return nil, fmt.Errorf("%w: %s is an IP address, a single-label host or not https", ErrUnavailable, issuer)
	}
	if net.ParseIP(rpID) != nil {
		return nil, fmt.Errorf("passkey: webauthn-rp-id %q is an IP address; it must be a domain name (WebAuthn §5.1.3)", rpID)
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return nil, fmt.Errorf("passkey: webauthn-rp-id %q is neither the issuer's host %q nor a parent domain of it (WebAuthn §5.1.3): browsers would refuse every passkey", rpID, host)
	}
	if singleLabel {
		return nil, fmt.Errorf("passkey: webauthn-rp-id %q is a top-level domain; use the issuer's host or a registrable parent domain of it", rpID)
	}
	if u.Scheme != "https" && !local {
		// Browsers offer WebAuthn to secure contexts only.
		return nil, fmt.Errorf("passkey: the issuer %q is not https: browsers offer passkeys only to https origins and localhost", issuer)
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: product,
		RPOrigins:     []string{origin},
		// Passkeys: a discoverable credential with user verification, so
		// one passkey is a sign-in of two factors (possession and the
		// device's PIN or biometric).
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RP{wa: wa, id: rpID, origin: origin}, nil
}

// ID is the relying-party ID.
func (rp *RP) ID() string { return rp.id }

// User is the account a ceremony is for. ID is Latch's user ID (the
// OIDC sub: random, no personal data), used as the WebAuthn user handle
// (§14.6.1), so a discoverable credential names its user.
type User struct {
	ID, Username, Name string
	Factors            []store.Factor // the user's factors; passkeys are read from them
}

// webauthnUser adapts User to webauthn.User.
type webauthnUser struct {
	u     User
	creds []webauthn.Credential
}

func (w webauthnUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w webauthnUser) WebAuthnName() string                       { return w.u.Username }
func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }
func (w webauthnUser) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.u.Username
}

func adapt(u User) webauthnUser {
	w := webauthnUser{u: u}
	for _, f := range u.Factors {
		if c, ok := credential(f); ok {
			w.creds = append(w.creds, c)
		}
	}
	return w
}

// credential decodes a passkey factor; the store's counter is the
// authoritative signature counter.
func credential(f store.Factor) (webauthn.Credential, bool) {
	var c webauthn.Credential
	if f.Kind != Kind || json.Unmarshal(f.Secret, &c) != nil || len(c.ID) == 0 {
		return c, false
	}
	c.Authenticator.SignCount = uint32(min(max(f.Counter, 0), 1<<32-1))
	return c, true
}

// FactorID is the store.Factor ID of the credential ID id.
func FactorID(credentialID []byte) string {
	return "pk-" + base64.RawURLEncoding.EncodeToString(credentialID)
}

// Ceremony is a begun ceremony: Options for the browser
// (navigator.credentials.create/get, as the library's JSON: base64url
// byte fields) and Session, the state to keep sealed until the answer.
type Ceremony struct {
	Options []byte
	Session []byte
}

// BeginRegistration starts registering a new passkey for u: a
// discoverable credential with user verification, excluding u's
// existing passkeys (one authenticator registers once).
func (rp *RP) BeginRegistration(u User) (Ceremony, error) {
	w := adapt(u)
	var excl []protocol.CredentialDescriptor
	for i := range w.creds {
		excl = append(excl, w.creds[i].Descriptor())
	}
	opts, sess, err := rp.wa.BeginRegistration(w, webauthn.WithExclusions(excl))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return ceremony(opts.Response, sess)
}

// BeginLogin starts a discoverable sign-in (no username: the credential
// names its user) usable by conditional UI (autofill) and a button.
func (rp *RP) BeginLogin() (Ceremony, error) {
	opts, sess, err := rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	return ceremony(opts.Response, sess)
}

func ceremony(opts any, sess *webauthn.SessionData) (Ceremony, error) {
	o, err := json.Marshal(opts)
	if err != nil {
		return Ceremony{}, err
	}
	s, err := json.Marshal(sess)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Options: o, Session: s}, nil
}

// ErrRefused is every refused ceremony answer; the wrapped error (the
// library's, with its details) is for the log only.
var ErrRefused = errors.New("passkey: refused")

func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %s (%s)", ErrRefused, pe.Details, pe.DevInfo)
	}
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s", ErrRefused, pe.Details)
	}
	return fmt.Errorf("%w: %w", ErrRefused, err)
}

// FinishRegistration verifies the browser's answer (the JSON of a
// PublicKeyCredential from create()) to the ceremony whose session is
// sess, and returns the new passkey as a factor of u named name, created
// now. ErrRefused (wrapped) for any answer that does not verify.
func (rp *RP) FinishRegistration(u User, sess, response []byte, name string, now time.Time) (store.Factor, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(sess, &sd); err != nil {
		return store.Factor{}, refused(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Factor{}, refused(err)
	}
	c, err := rp.wa.CreateCredential(adapt(u), sd, parsed)
	if err != nil {
		return store.Factor{}, refused(err)
	}
	secret, err := json.Marshal(c)
	if err != nil {
		return store.Factor{}, err
	}
	return store.Factor{
		UserID: u.ID, ID: FactorID(c.ID), Kind: Kind, Name: name, Secret: secret,
		Counter: int64(c.Authenticator.SignCount), CreatedAt: now,
	}, nil
}

// Assertion is a verified sign-in: the user and factor it proved, the
// signature counter it reported, and what the authenticator said.
type Assertion struct {
	UserID   string
	FactorID string
	// Counter is the authenticator's new signature counter (0: it keeps
	// none). CloneWarning: the counter did not grow although the stored
	// one is not 0 — a cloned authenticator, or a replay (§6.1.1): the
	// caller must refuse the sign-in.
	Counter      uint32
	CloneWarning bool
	// UserVerified: this ceremony verified the user (UV flag, §6.1).
	UserVerified bool
	// BackupEligible, BackedUp: the BE and BS flags (§6.1.3).
	BackupEligible, BackedUp bool
}

// AMR is the RFC 8176 amr of the sign-in: "swk" for a passkey that may
// be synced to other devices (backup eligible: the key can leave the
// authenticator), "hwk" for a device-bound one (its key never leaves the
// authenticator; Latch asks for no attestation, so this is the
// authenticator's word), and "mfa" when the user was verified (a PIN or
// biometric besides possession of the key).
func (a Assertion) AMR() []string {
	m := oauth.AMRHardware
	if a.BackupEligible {
		m = oauth.AMRSoftware
	}
	if a.UserVerified {
		return []string{m, oauth.AMRMFA}
	}
	return []string{m}
}

// Lookup finds the user of a discoverable credential by its user handle
// (Latch's user ID); store.ErrNotFound for none.
type Lookup func(userHandle []byte) (User, error)

// FinishLogin verifies the browser's answer (the JSON of a
// PublicKeyCredential from get()) to the sign-in ceremony whose session
// is sess: the challenge, origin, RP ID hash, user presence and
// verification, the signature with the stored public key of the
// credential the user handle's user owns, the flags and the counter.
// ErrRefused (wrapped) for anything that does not verify. The caller
// still has to record the counter (a clone warning refuses).
func (rp *RP) FinishLogin(sess, response []byte, lookup Lookup) (Assertion, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(sess, &sd); err != nil {
		return Assertion{}, refused(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Assertion{}, refused(err)
	}
	var found User
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, err := lookup(userHandle)
		if err != nil {
			return nil, err
		}
		found = u
		return adapt(u), nil
	}
	_, c, err := rp.wa.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil {
		return Assertion{}, refused(err)
	}
	if !bytes.Equal(c.ID, parsed.RawID) {
		return Assertion{}, refused(errors.New("credential mismatch"))
	}
	flags := parsed.Response.AuthenticatorData.Flags
	return Assertion{
		UserID: found.ID, FactorID: FactorID(c.ID),
		Counter: parsed.Response.AuthenticatorData.Counter, CloneWarning: c.Authenticator.CloneWarning,
		UserVerified: flags.HasUserVerified(), BackupEligible: flags.HasBackupEligible(), BackedUp: flags.HasBackupState(),
	}, nil
}

// Describe reads a passkey factor's backup flags as stored at
// registration (registration.PasskeyFlags).
func Describe(f store.Factor) (registration.PasskeyInfo, bool) {
	if f.Kind != Kind {
		return registration.PasskeyInfo{}, false
	}
	return registration.PasskeyFlags(f.Secret)
}
