package store

import "time"

// DeviceStatus is where a device authorization stands (RFC 8628 §3.3:
// the user approves or denies it on the verification page).
type DeviceStatus string

const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
)

// DeviceCode is one device authorization request (RFC 8628 §3.1, §3.2).
// Its life: created pending; decided once (DecideDeviceCode) to approved
// or denied by a signed-in user; an approved one is redeemed once
// (RedeemDeviceCode, UsedAt set); it is swept after ExpiresAt. Neither
// code is stored: Hash and UserCodeHash are their hashes.
type DeviceCode struct {
	Hash         string // hash of the device_code
	UserCodeHash string // hash of the normalised user_code
	ClientID     string
	Scopes       []string
	// GrantID is the ID the grant will have once redeemed.
	GrantID string
	// Interval is the current minimum polling interval (RFC 8628 §3.2,
	// raised by slow_down, §3.5); LastPolledAt the time of the last poll
	// (zero before the first).
	Interval     time.Duration
	LastPolledAt time.Time
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Status       DeviceStatus
	// Set by the decision: the user, the SID of the session that decided,
	// and that session's authentication.
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	DecidedAt time.Time
	UsedAt    time.Time // zero until redeemed
}

// DeviceDecision is the user's answer on the verification page.
type DeviceDecision struct {
	Approved  bool
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
}

// NextPoll is the one rule for a poll of a device authorization at now
// (RFC 8628 §3.5), shared by every backend: a pending record polled
// before LastPolledAt+Interval is answered slow_down and its Interval
// grows by step; every poll moves LastPolledAt to now. A decided record
// is never slowed down (the client gets its answer).
func NextPoll(d DeviceCode, now time.Time, step time.Duration) (DeviceCode, bool) {
	slow := d.Status == DevicePending && !d.LastPolledAt.IsZero() && now.Before(d.LastPolledAt.Add(d.Interval))
	if slow {
		d.Interval += step
	}
	d.LastPolledAt = now
	return d, slow
}
