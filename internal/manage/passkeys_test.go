package manage

import (
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/store"
)

// TestPasskeyAdmin: a passkey-only user is created without a password
// and with a registration link; an administrator lists and deletes a
// passkey (audited), on both stores.
func TestPasskeyAdmin(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		svc, audit := newService(t, st)
		if _, _, err := svc.CreatePasskeyUser(t.Context(), store.User{Username: "pat"}); kindOf(err) != Invalid {
			t.Fatalf("CreatePasskeyUser without an issuer = %v, want Invalid", err)
		}
		svc.opts.Issuer = "https://id.example.com"
		v, link, err := svc.CreatePasskeyUser(t.Context(), store.User{Username: "pat"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(link.URL, "https://id.example.com/account/reset?") {
			t.Errorf("registration link %q", link.URL)
		}
		u, err := st.GetUser(t.Context(), v.ID)
		if err != nil || u.PasswordHash != "" {
			t.Fatalf("pat: %+v %v, want no password", u, err)
		}
		if _, _, err := svc.CreatePasskeyUser(t.Context(), store.User{Username: "pat"}); kindOf(err) != Conflict {
			t.Errorf("CreatePasskeyUser(pat) again = %v, want Conflict", err)
		}
		pk := store.Factor{UserID: v.ID, ID: "pk-AQID", Kind: store.FactorPasskey, Name: "Phone", Counter: 7, CreatedAt: testNow,
			Secret: []byte(`{"id":"AQID","publicKey":"","flags":{"backupEligible":true,"backupState":true}}`)}
		if err := st.SaveFactors(t.Context(), v.ID, nil, pk); err != nil {
			t.Fatal(err)
		}
		got, err := svc.ListPasskeys(t.Context(), v.ID)
		if err != nil || len(got) != 1 || got[0].Name != "Phone" || got[0].SignCount != 7 || !got[0].BackupEligible || !got[0].BackedUp {
			t.Fatalf("ListPasskeys = %+v, %v", got, err)
		}
		if err := svc.DeletePasskey(t.Context(), v.ID, "pk-nope"); kindOf(err) != NotFound {
			t.Errorf("DeletePasskey(unknown) = %v, want NotFound", err)
		}
		// The registration link is a factor, not a passkey.
		fs, _ := st.ListFactors(t.Context(), v.ID)
		for _, f := range fs {
			if f.Kind == store.FactorResetLink {
				if err := svc.DeletePasskey(t.Context(), v.ID, f.ID); kindOf(err) != NotFound {
					t.Errorf("DeletePasskey(the reset link) = %v, want NotFound", err)
				}
			}
		}
		if err := svc.DeletePasskey(t.Context(), v.ID, "pk-AQID"); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.ListPasskeys(t.Context(), v.ID); len(got) != 0 {
			t.Errorf("after delete: %+v", got)
		}
		if !strings.Contains(audit.String(), `"admin_passkey_deleted"`) || !strings.Contains(audit.String(), `"passkey_only":true`) {
			t.Errorf("audit:\n%s", audit.String())
		}
		if _, err := svc.ListPasskeys(t.Context(), "nobody"); kindOf(err) != NotFound {
			t.Errorf("ListPasskeys(nobody) = %v, want NotFound", err)
		}
	})
}
