// Why Latch signed the user out, for the demo SPA.
//
// When Latch refuses a refresh token it answers invalid_grant, and when it
// knows why the token ended, its error_description ends in the stable form
// " (reason: CODE)" (docs/tokens.md, "Why a refresh token stopped
// working"). The description is for developers and may change; the code
// never does, so the app parses only the code and words it itself.
//
// A classic script: it sets window.LatchReasons, which app.js uses.
window.LatchReasons = (() => {
  const says = {
    idle_expired: 'you were away longer than this app keeps you signed in',
    absolute_expired: 'your sign-in reached its maximum age',
    revoked_by_client: 'this app signed you out',
    logout: 'you signed out',
    session_ended: 'you signed out of Latch in another app',
    admin: 'an administrator signed you out everywhere',
    password_changed: 'your password was changed: sign in with the new one',
    reused: 'a refresh token was used twice, which can mean it was stolen, so this sign-in was revoked',
    code_replayed: 'the sign-in code was used twice, which can mean it was intercepted, so this sign-in was revoked',
  };
  return {
    // of returns the reason code at the end of an error_description, or ''.
    of: (description) => /\(reason: ([a-z_]+)\)$/.exec(description || '')?.[1] || '',
    // show fills the signed-out card's notice for reason ('' hides it).
    show(el, reason) {
      el.hidden = !reason;
      el.dataset.reason = reason || '';
      el.textContent = reason ? `Signed out: ${says[reason] || 'your sign-in ended'} (${reason}).` : '';
    },
  };
})();
