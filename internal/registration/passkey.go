package registration

import "encoding/json"

// PasskeyInfo is what the account page and the CLI show of a passkey
// beyond its name and dates: the WebAuthn backup flags (§6.1.3) as
// reported at registration. BackupEligible: the passkey may be synced
// to the user's other devices; BackedUp: it is.
type PasskeyInfo struct {
	BackupEligible, BackedUp bool
}

// PasskeyFlags reads the flags of a passkey factor's secret: the
// credential record go-webauthn marshals (webauthn.Credential, whose
// "flags" member this mirrors), so the admin service can show them
// without linking the WebAuthn library. ok is false for a secret that is
// not one.
func PasskeyFlags(secret []byte) (PasskeyInfo, bool) {
	var c struct {
		ID    []byte `json:"id"`
		Flags struct {
			BackupEligible bool `json:"backupEligible"`
			BackupState    bool `json:"backupState"`
		} `json:"flags"`
	}
	if json.Unmarshal(secret, &c) != nil || len(c.ID) == 0 {
		return PasskeyInfo{}, false
	}
	return PasskeyInfo{BackupEligible: c.Flags.BackupEligible, BackedUp: c.Flags.BackupState}, true
}
