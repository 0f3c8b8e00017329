package server

import (
	"testing"

	"github.com/latchauth/latch/internal/ui"
)

// TestPageMessagesTranslated: every fixed message the server puts on a
// hosted page has a translation in every catalogue (a message made up at
// run time, such as a lockout with its wait, shows in English).
func TestPageMessagesTranslated(t *testing.T) {
	u, err := ui.New("")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []string{
		// writeErrorPage titles
		"This request can't be completed", "Something went wrong", "Too many attempts", "Access denied", "Not found",
		errNotFound.Description, errInternal.Description, errInteraction.Description,
		msgInvalidAuthorizeRequest, msgUnknownClient, msgBadRedirectURI,
		msgBadCredentials, "Enter your username and password.",
		"sign in from the application: open it and choose sign in", "choose Allow or Deny",
		"cross-origin form submission refused",
		// second factors and the account page (mfa.go, account.go, reset.go)
		msgBadCode, "Enter the code from your authenticator app.", "That code is not right. Enter the code your app shows now.",
		// federation (federation.go)
		errUpstreamState.Description, errUpstreamReplayed.Description, msgUpstreamUnknown,
		"Your current password is not right.", "Choose a new password of at least 8 characters.", "Password", "Authenticator app",
		msgBadUserCode,
	}
	for _, n := range notices {
		msgs = append(msgs, n)
	}
	for _, sc := range []string{"openid", "profile", "email", "offline_access"} {
		msgs = append(msgs, scopeDescription(sc))
	}
	for _, m := range msgs {
		if m == "" || !u.HasTranslation(m) {
			t.Errorf("page message %q has no translation in every internal/ui/locales catalogue", m)
		}
	}
}
