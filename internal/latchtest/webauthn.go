package latchtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"html"
	"regexp"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator is a software passkey authenticator for tests: one
// ES256 discoverable credential, user verification always performed, no
// attestation ("none", WebAuthn §8.7). It answers the options Latch's
// pages render (go-webauthn's JSON) the way a browser's
// navigator.credentials would, with the clientDataJSON origin the test
// chooses, and returns the PublicKeyCredential JSON the pages post.
// Built on go-webauthn's own CBOR and COSE types; the browser tests use
// Chromium's virtual authenticator instead.
type Authenticator struct {
	mu        sync.Mutex
	key       *ecdsa.PrivateKey
	id        []byte
	user      []byte
	rpID      string
	Count     uint32 // signature counter; each assertion adds one (0 stays 0 with NoCounter)
	NoCounter bool
	// BackupEligible sets the BE and BS flags (a synced passkey).
	BackupEligible bool
}

// NewAuthenticator makes an authenticator with a fresh key.
func NewAuthenticator(t testing.TB) *Authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{key: k, id: id}
}

var b64 = base64.RawURLEncoding

// PasskeyOptions returns the passkey options a page renders in its
// data-passkey-login or data-passkey-create attribute ("" for none).
func PasskeyOptions(body string) string {
	m := regexp.MustCompile(`data-passkey-(?:login|create)="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (a *Authenticator) clientData(t testing.TB, typ, challenge, origin string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (a *Authenticator) flags(attested bool) byte {
	f := byte(0x01 | 0x04) // UP, UV
	if a.BackupEligible {
		f |= 0x08 | 0x10 // BE, BS
	}
	if attested {
		f |= 0x40 // AT
	}
	return f
}

// Create answers creation options (JSON) from origin: a new credential
// for the options' RP ID and user.
func (a *Authenticator) Create(t testing.TB, options, origin string) string {
	t.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		t.Fatalf("creation options %q: %v", options, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	user, err := b64.DecodeString(o.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.user, a.rpID = user, o.RP.ID
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pad32(a.key.X.Bytes()), YCoord: pad32(a.key.Y.Bytes()),
	})
	if err != nil {
		t.Fatal(err)
	}
	rp := sha256.Sum256([]byte(o.RP.ID))
	auth := append(rp[:], a.flags(true))
	auth = binary.BigEndian.AppendUint32(auth, a.Count)
	auth = append(auth, make([]byte, 16)...) // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(a.id)))
	auth = append(auth, a.id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		t.Fatal(err)
	}
	return marshal(t, map[string]any{
		"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData(t, "webauthn.create", o.Challenge, origin)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers request options (JSON) from origin, signing for rpID (""
// for the options' rpId): an assertion of the credential with its user
// handle. Each call advances the counter (unless NoCounter).
func (a *Authenticator) Get(t testing.TB, options, origin, rpID string) string {
	t.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		t.Fatalf("request options %q: %v", options, err)
	}
	if rpID == "" {
		rpID = o.RPID
	}
	a.mu.Lock()
	if !a.NoCounter {
		a.Count++
	}
	count := a.Count
	a.mu.Unlock()
	return a.assert(t, o.Challenge, origin, rpID, count)
}

// GetWithCounter is Get with the signature counter given (a clone).
func (a *Authenticator) GetWithCounter(t testing.TB, options, origin string, count uint32) string {
	t.Helper()
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		t.Fatal(err)
	}
	return a.assert(t, o.Challenge, origin, o.RPID, count)
}

func (a *Authenticator) assert(t testing.TB, challenge, origin, rpID string, count uint32) string {
	rp := sha256.Sum256([]byte(rpID))
	auth := append(rp[:], a.flags(false))
	auth = binary.BigEndian.AppendUint32(auth, count)
	cd := a.clientData(t, "webauthn.get", challenge, origin)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return marshal(t, map[string]any{
		"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.user),
		},
	})
}

func pad32(b []byte) []byte {
	out := make([]byte, 32)
	copy(out[32-len(b):], b)
	return out
}

func marshal(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
