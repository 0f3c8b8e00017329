package doctor

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Latch's recommended bounds. The RFCs require that refresh tokens expire
// (RFC 9700 §4.14.2, RFC 10017 §6.3.2.3) but name no number; these are
// Latch's, chosen so that its defaults (public 24h idle / 7 days absolute,
// confidential 30 / 90 days) pass with room to spare. The bound on the
// refresh grace window is not doctor's: it is registration.MaxRefreshGrace,
// which registration enforces and the server caps stored values at.
const (
	MaxPublicRefreshIdle           = 7 * 24 * time.Hour
	MaxPublicRefreshAbsolute       = 30 * 24 * time.Hour
	MaxConfidentialRefreshIdle     = 90 * 24 * time.Hour
	MaxConfidentialRefreshAbsolute = 365 * 24 * time.Hour
)

// rules is the rule table, most important first within a severity. To add
// a rule, add an entry here, a case to rules_test.go and a row to the
// "latch doctor" section of docs/cli.md (TestREADMEListsEveryRule checks).
func rules() []Rule {
	return []Rule{
		// Errors.
		{
			ID: "issuer-not-https", Severity: Error, Ref: "RFC 8414 §2; OAuth 2.1 §1.5",
			Summary: "the issuer uses plain http on a host that is not loopback",
			FixHint: "issuer: https://… (TLS via tls-cert/tls-key or an https reverse proxy)",
			check:   checkIssuerHTTP,
		},
		{
			ID: "admin-listener-open", Severity: Error, Ref: "Latch admin listener (docs/operations.md, Admin API)",
			Summary: "admin-addr is not a loopback address and admin-token is unset",
			FixHint: "admin-addr: 127.0.0.1:9090, or set admin-token",
			check:   checkAdminOpen,
		},
		{
			ID: "config-invalid", Severity: Error, Ref: "latch config check",
			Summary: "any other configuration problem `latch serve` would refuse to start with",
			FixHint: "the key named in the finding",
			check:   checkConfigValid,
		},
		{
			ID: "refresh-rotation-defeated", Severity: Error, Ref: "RFC 9700 §2.2.2, §4.14.2",
			Summary: fmt.Sprintf("a public client without DPoP whose refresh grace window (as enforced: at most %s) is at least its refresh idle timeout: reuse is never detected", fmtDuration(registration.MaxRefreshGrace)),
			FixHint: "latch client update ID --refresh-grace 10s (or --require-dpop)",
			check:   checkRotationDefeated,
		},
		{
			ID: "passkey-policy-locks-out", Severity: Error, Ref: "RFC 9470 §3; docs/authentication.md",
			Summary: "authentication-policy passkey (the server's or a client's) where browsers offer no passkeys to the issuer (an IP address, a single-label host, plain http) or webauthn-rp-id does not fit it: every sign-in under it fails",
			FixHint: "authentication-policy: second_factor; latch client update ID --authentication-policy second_factor",
			check:   checkPasskeyPolicy,
		},
		// Warnings.
		{
			ID: "spa-no-allowed-origin", Severity: Warning, Ref: "RFC 10017 §6.3.3.4",
			Summary: "a public client with https redirect URIs (a SPA) has no allowed origin: its token requests fail CORS",
			FixHint: "latch client update ID --allowed-origin https://app.example.com",
			check:   checkSPAOrigin,
		},
		{
			ID: "public-client-no-dpop", Severity: Warning, Ref: "RFC 9700 §2.2.1; RFC 10017 §9.2",
			Summary: "a public client's tokens are not required to be DPoP-bound (sender-constrained)",
			FixHint: "latch client update ID --require-dpop",
			check:   checkPublicDPoP,
		},
		{
			ID: "spa-refresh-outlives-logout", Severity: Warning, Ref: "RFC 10017 §6.3.2.3",
			Summary: "a SPA's refresh tokens survive the user's logout",
			FixHint: "latch client update ID --revoke-refresh-on-logout",
			check:   checkSPALogout,
		},
		{
			ID: "refresh-lifetime-long", Severity: Warning, Ref: "RFC 9700 §4.14.2; RFC 10017 §6.3.2.3",
			Summary: fmt.Sprintf("refresh idle/absolute lifetimes above %s/%s (public) or %s/%s (confidential)",
				days(MaxPublicRefreshIdle), days(MaxPublicRefreshAbsolute), days(MaxConfidentialRefreshIdle), days(MaxConfidentialRefreshAbsolute)),
			FixHint: "public-refresh-idle, public-refresh-absolute, confidential-refresh-*; or latch client update ID --refresh-idle/--refresh-absolute",
			check:   checkRefreshLifetimes,
		},
		{
			ID: "refresh-grace-long", Severity: Warning, Ref: "RFC 9700 §4.14.2",
			Summary: fmt.Sprintf("a client's stored refresh grace window is longer than %s, which registration now refuses (a record from before the bound; the server caps it at %[1]s)", fmtDuration(registration.MaxRefreshGrace)),
			FixHint: "latch client update ID --refresh-grace 10s",
			check:   checkGraceLong,
		},
		{
			ID: "client-credentials-mixed", Severity: Warning, Ref: "RFC 9700 §4.15; OAuth 2.1 §7.4",
			Summary: "one client has client_credentials and a user grant (authorization_code)",
			FixHint: "a separate client for client_credentials; latch client update ID --grant-type authorization_code,refresh_token",
			check:   checkMixedGrants,
		},
		{
			ID: "confidential-loopback-redirect", Severity: Warning, Ref: "RFC 9700 §2.6; OAuth 2.1 §2.3.1, §8.4.2",
			Summary: "in production (issuer not loopback), a confidential client has an http loopback redirect URI",
			FixHint: "latch client update ID --redirect-uri https://…",
			check:   checkConfidentialLoopback,
		},
		{
			ID: "backchannel-logout-http", Severity: Warning, Ref: "OpenID Connect Back-Channel Logout 1.0 §2.2",
			Summary: "in production (issuer not loopback), a client's backchannel_logout_uri is http: Latch posts Logout Tokens over http only under latch dev, so the client never learns of a logout",
			FixHint: "latch client update ID --backchannel-logout-uri https://…",
			check:   checkBackchannelHTTP,
		},
		{
			ID: "cimd-allow-all", Severity: Warning, Ref: "draft-ietf-oauth-client-id-metadata-document (Security Considerations); RFC 7591 §5",
			Summary: "in production, cimd-policy allow-all: any https host becomes a client by publishing a metadata document, with the name it chooses on the consent page",
			FixHint: "cimd-policy: allow-list with cimd-allowed-hosts: HOST,… (or off)",
			check:   checkCIMDAllowAll,
		},
		{
			ID: "registration-open", Severity: Warning, Ref: "RFC 7591 §3, §5",
			Summary: "in production, registration open: anyone may register clients at /register, with the names they choose on the consent page",
			FixHint: "registration: initial-access-token (latch client token creates the tokens), or off",
			check:   checkRegistrationOpen,
		},
		{
			ID: "admin-listener-exposed", Severity: Warning, Ref: "Latch admin listener (docs/operations.md, Metrics)",
			Summary: "admin-addr is not a loopback address: /metrics and /healthz are open to the network, the admin token travels in plain http",
			FixHint: "admin-addr: 127.0.0.1:9090",
			check:   checkAdminExposed,
		},
		{
			ID: "key-rotation-overdue", Severity: Warning, Ref: "OIDC Core §10.1.1",
			Summary: fmt.Sprintf("an active signing key is older than --key-max-age (default %s)", days(DefaultKeyMaxAge)),
			FixHint: "latch keys rotate --alg ALG",
			check:   checkKeyAge,
		},
		// Infos.
		{
			ID: "rs256-default", Severity: Info, Ref: "RFC 7518 §3.1; OIDC Discovery §3",
			Summary: "signing-alg is RS256, about 3× the signing CPU of ES256 (a cost hint)",
			FixHint: "signing-alg: ES256",
			check:   checkRS256,
		},
		{
			ID: "dpop-nonce-off", Severity: Info, Ref: "RFC 9449 §8, §11.2",
			Summary: "clients require DPoP but dpop-nonce is off: proofs made in advance stay usable",
			FixHint: "dpop-nonce: true",
			check:   checkDPoPNonce,
		},
		{
			ID: "no-active-key", Severity: Info, Ref: "OIDC Core §10.1.1",
			Summary: "no active signing key for signing-alg yet",
			FixHint: "start latch serve once (it creates the keys), or latch keys rotate --alg ALG",
			check:   checkActiveKey,
		},
		{
			ID: "dev-issuer", Severity: Info, Ref: "RFC 8414 §2",
			Summary: "the issuer is a loopback URL (development); production-only rules are skipped",
			FixHint: "issuer: https://id.example.com",
			check:   checkDevIssuer,
		},
	}
}

const configSubject = "config"

// --- configuration ---

// issuerHTTP reports whether the issuer is refused for being plain http
// on a host that is not loopback (config.Validate's rule).
func issuerHTTP(c config.Config) bool {
	u, err := url.Parse(c.Issuer)
	return err == nil && u.Scheme == "http" && u.Hostname() != "" && !oauth.IsLoopbackHost(strings.ToLower(u.Hostname()))
}

// devIssuer reports whether the issuer is a loopback URL: a development
// deployment, where rules about production do not apply.
func devIssuer(c config.Config) bool {
	u, err := url.Parse(c.Issuer)
	return err == nil && u.Hostname() != "" && oauth.IsLoopbackHost(strings.ToLower(u.Hostname()))
}

// productionIssuer reports whether the issuer is a URL on a host that is
// not loopback: a production deployment. Without a usable issuer (reported
// by config-invalid) it is neither production nor development.
func productionIssuer(c config.Config) bool {
	u, err := url.Parse(c.Issuer)
	return err == nil && u.Hostname() != "" && !oauth.IsLoopbackHost(strings.ToLower(u.Hostname()))
}

// adminNonLoopback reports whether the admin listener is enabled on an
// address other hosts can reach (a non-loopback host or every
// interface).
func adminNonLoopback(c config.Config) bool {
	if c.AdminAddr == "" {
		return false
	}
	host, _, err := net.SplitHostPort(c.AdminAddr)
	return err == nil && !oauth.IsLoopbackHost(strings.ToLower(host))
}

func checkIssuerHTTP(in *Input, r *reporter) {
	if issuerHTTP(in.Config) {
		u, _ := url.Parse(in.Config.Issuer)
		u.Scheme = "https"
		u.Host = u.Hostname() // the http port is rarely the https one
		r.add(configSubject, "issuer: "+u.String()+" (serve TLS with tls-cert/tls-key, or behind an https reverse proxy)",
			"issuer %q is plain http on a host that is not loopback: codes, tokens and passwords cross the network in clear, and clients must refuse such an issuer", in.Config.Issuer)
	}
}

func checkAdminOpen(in *Input, r *reporter) {
	if adminNonLoopback(in.Config) && in.Config.AdminToken == "" {
		r.add(configSubject, "admin-addr: 127.0.0.1:9090, or set admin-token (LATCH_ADMIN_TOKEN, at least 24 characters)",
			"admin-addr %q is reachable from other hosts and admin-token is unset: latch serve refuses to start", in.Config.AdminAddr)
	}
}

func checkConfigValid(in *Input, r *reporter) {
	for _, p := range in.Config.Validate() {
		// Reported by their own rules above, with a better fix.
		if p.Key == "issuer" && issuerHTTP(in.Config) || p.Key == "admin-addr" && adminNonLoopback(in.Config) && in.Config.AdminToken == "" {
			continue
		}
		env := "LATCH_" + strings.ToUpper(strings.ReplaceAll(p.Key, "-", "_"))
		r.add(configSubject, fmt.Sprintf("%s: a valid value (flag --%s, variable %s); `latch config check FILE` lists every problem", p.Key, p.Key, env),
			"%s: %s", p.Key, p.Message)
	}
}

func checkAdminExposed(in *Input, r *reporter) {
	if adminNonLoopback(in.Config) && in.Config.AdminToken != "" {
		r.add(configSubject, "admin-addr: 127.0.0.1:9090 (scrape metrics over a private network or through a TLS proxy)",
			"admin-addr %q is reachable from other hosts: /metrics and /healthz answer without a token, and the admin token travels in plain http", in.Config.AdminAddr)
	}
}

func checkRS256(in *Input, r *reporter) {
	if in.Config.SigningAlg == token.RS256 {
		r.add(configSubject, "signing-alg: ES256 (or EdDSA); a client that needs RS256 ID tokens keeps them with latch client update ID --id-token-alg RS256",
			"every token is signed with RS256: about 3× the CPU of ES256 per signature, and 256-byte signatures; clients and resource servers that verify through the JWKS accept ES256 and EdDSA as well")
	}
}

func checkDPoPNonce(in *Input, r *reporter) {
	if in.Config.DPoPNonce {
		return
	}
	var ids []string
	for _, c := range in.Clients {
		if c.RequireDPoP {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) > 0 {
		r.add(configSubject, "dpop-nonce: true",
			"DPoP is required (clients %s), but proofs carry no server nonce: a proof made in advance (e.g. by injected JavaScript) stays usable within its iat window", strings.Join(ids, ", "))
	}
}

func checkDevIssuer(in *Input, r *reporter) {
	if devIssuer(in.Config) {
		r.add(configSubject, "issuer: https://id.example.com (your public URL)",
			"issuer %q is a loopback URL: right for latch dev, unreachable for clients on other machines; the production rules (%s) were not checked", in.Config.Issuer, strings.Join(productionRules, ", "))
	}
}

// productionRules are the rules that judge only a production deployment
// (productionIssuer): what latch dev does on purpose.
var productionRules = []string{"confidential-loopback-redirect", "backchannel-logout-http", "cimd-allow-all", "registration-open"}

// checkPasskeyPolicy: the passkey policy fails closed when passkeys
// are off for this issuer (passkey.New: an IP address, a single-label
// host, plain http other than localhost) or webauthn-rp-id does not fit
// it — every sign-in under the policy is refused with
// unmet_authentication_requirements. Whether each user has a passkey is
// not judged here (users add theirs on the account page).
func checkPasskeyPolicy(in *Input, r *reporter) {
	_, err := passkey.New(in.Config.Issuer, in.Config.WebAuthnRPID, "Latch")
	if err == nil {
		return
	}
	if in.Config.AuthenticationPolicy == registration.PolicyPasskey {
		r.add(configSubject, "serve the issuer on an https domain name (or localhost), or authentication-policy: second_factor",
			"authentication-policy is passkey, but passkeys are off for this issuer (%v): every sign-in fails with unmet_authentication_requirements, for every user and client — nobody can sign in", err)
	}
	for _, c := range in.Clients {
		if c.AuthenticationPolicy == registration.PolicyPasskey {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --authentication-policy second_factor", c.ID),
				"the client's authentication policy is passkey, but passkeys are off for this issuer (%v): every sign-in to this client fails with unmet_authentication_requirements", err)
		}
	}
}

func checkBackchannelHTTP(in *Input, r *reporter) {
	if !productionIssuer(in.Config) {
		return
	}
	for _, c := range in.Clients {
		if u, err := url.Parse(c.BackchannelLogoutURI); err == nil && u.Scheme == "http" {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --backchannel-logout-uri https://… (the client's public https receiver; \"\" removes it)", c.ID),
				"backchannel_logout_uri %s is http: outside latch dev Latch delivers Logout Tokens over https only, so every notification is given up (audited backchannel_logout_gave_up) and the client's sessions outlive the user's logout; an http URI is a development leftover", c.BackchannelLogoutURI)
		}
	}
}

func checkCIMDAllowAll(in *Input, r *reporter) {
	if productionIssuer(in.Config) && in.Config.CIMDPolicy == "allow-all" {
		r.add(configSubject, "cimd-policy: allow-list, with cimd-allowed-hosts naming the hosts you trust (or cimd-policy: off)",
			"cimd-policy is allow-all: any public https host becomes a client by serving a metadata document, and its client_name — any name it likes — is what users see on the consent page")
	}
}

func checkRegistrationOpen(in *Input, r *reporter) {
	if productionIssuer(in.Config) && in.Config.Registration == "open" {
		r.add(configSubject, "registration: initial-access-token (latch client token --uses N --ttl D hands out the tokens), or off",
			"registration is open: anyone may register clients at /register without an initial access token, with the client_name they like on the consent page; only registration-max-per-ip bounds how many")
	}
}

// --- clients ---

func clientSubject(c store.Client) string { return "client " + c.ID }

// httpsRedirects returns c's https redirect URIs.
func httpsRedirects(c store.Client) []string {
	var out []string
	for _, u := range c.RedirectURIs {
		if strings.HasPrefix(u, "https://") {
			out = append(out, u)
		}
	}
	return out
}

// isSPA reports whether c looks like a browser-based application: the
// one definition, registration.IsBrowserApp, which the client commands
// and the admin API warn with too.
func isSPA(c store.Client) bool { return registration.IsBrowserApp(c) }

// refreshLifetimes returns the refresh idle timeout and absolute lifetime
// c gets: its own, else the configured default for its type. It mirrors
// the server's rule (internal/grant/lifetimes.go refreshLifetimes).
func refreshLifetimes(cfg config.Config, c store.Client) (idle, absolute time.Duration) {
	if c.Public {
		idle, absolute = cfg.PublicRefreshIdle, cfg.PublicRefreshAbsolute
	} else {
		idle, absolute = cfg.ConfidentialRefreshIdle, cfg.ConfidentialRefreshAbsolute
	}
	if c.RefreshIdle > 0 {
		idle = c.RefreshIdle
	}
	if c.RefreshAbsolute > 0 {
		absolute = c.RefreshAbsolute
	}
	return idle, absolute
}

// effectiveGrace returns the grace window the server applies to c: its
// own, capped at registration.MaxRefreshGrace for a client stored before
// registration refused longer ones. It mirrors the server's rule
// (internal/server/refresh.go).
func effectiveGrace(c store.Client) time.Duration {
	return min(c.RefreshGrace, registration.MaxRefreshGrace)
}

// legacyGrace reports whether c's stored grace window is longer than
// registration accepts: a record from before the bound, which the server
// caps.
func legacyGrace(c store.Client) bool { return c.RefreshGrace > registration.MaxRefreshGrace }

// graceText describes c's grace window as stored and, when the server
// caps it, as enforced.
func graceText(c store.Client) string {
	if legacyGrace(c) {
		return fmt.Sprintf("%s (stored; the server caps it at %s)", fmtDuration(c.RefreshGrace), fmtDuration(effectiveGrace(c)))
	}
	return fmtDuration(c.RefreshGrace)
}

// rotationDefeated reports whether c's grace window, as the server
// enforces it, covers its whole refresh idle timeout while nothing else
// binds its refresh tokens.
func rotationDefeated(cfg config.Config, c store.Client) bool {
	if !c.Public || c.RequireDPoP || !registration.HasGrant(c, oauth.GrantRefreshToken) || effectiveGrace(c) <= 0 {
		return false
	}
	idle, _ := refreshLifetimes(cfg, c)
	return effectiveGrace(c) >= idle
}

func checkRotationDefeated(in *Input, r *reporter) {
	for _, c := range in.Clients {
		if rotationDefeated(in.Config, c) {
			idle, _ := refreshLifetimes(in.Config, c)
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --refresh-grace 10s (or --require-dpop once the client sends DPoP proofs)", c.ID),
				"refresh grace %s is not shorter than the refresh idle timeout %s: a stolen, already rotated refresh token is always inside the grace window, so reuse is never detected; a public client's refresh tokens MUST be rotated or sender-constrained",
				graceText(c), fmtDuration(idle))
		}
	}
}

func checkSPAOrigin(in *Input, r *reporter) {
	issuer := registration.URLOrigin(in.Config.Issuer)
	for _, c := range in.Clients {
		// The origins the app runs on, other than Latch's own: an app
		// served from the issuer's origin needs no CORS (RFC 10017
		// §6.3.3.4). The rule is registration.MissingOrigins, the one
		// the client commands and the admin API warn with.
		origins := registration.MissingOrigins(c, issuer)
		if len(origins) == 0 {
			continue
		}
		fix := fmt.Sprintf("latch client update %s --allowed-origin %s", c.ID, strings.Join(origins, ","))
		r.add(clientSubject(c), fix,
			"public client with https redirect URIs but no allowed origin: if it is a browser app, its token requests fail CORS (the app sees \"Failed to fetch\"); a native app using claimed https URLs needs none")
	}
}

func checkPublicDPoP(in *Input, r *reporter) {
	for _, c := range in.Clients {
		if c.Public && registration.HasGrant(c, oauth.GrantAuthorizationCode) && !c.RequireDPoP {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --require-dpop (once the client sends DPoP proofs; docs/security.md, DPoP)", c.ID),
				"the client may use DPoP but is not required to: its access and refresh tokens can be bearer tokens, usable by whoever steals them")
		}
	}
}

func checkSPALogout(in *Input, r *reporter) {
	for _, c := range in.Clients {
		if isSPA(c) && registration.HasGrant(c, oauth.GrantRefreshToken) && !c.RevokeRefreshOnLogout {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --revoke-refresh-on-logout", c.ID),
				"the browser app's refresh tokens stay valid after the user logs out of Latch; RFC 10017 asks to link them to the user's session")
		}
	}
}

func checkRefreshLifetimes(in *Input, r *reporter) {
	cfg := in.Config
	for _, b := range []struct {
		key string
		v   time.Duration
		max time.Duration
	}{
		{"public-refresh-idle", cfg.PublicRefreshIdle, MaxPublicRefreshIdle},
		{"public-refresh-absolute", cfg.PublicRefreshAbsolute, MaxPublicRefreshAbsolute},
		{"confidential-refresh-idle", cfg.ConfidentialRefreshIdle, MaxConfidentialRefreshIdle},
		{"confidential-refresh-absolute", cfg.ConfidentialRefreshAbsolute, MaxConfidentialRefreshAbsolute},
	} {
		if b.v > b.max {
			r.add(configSubject, fmt.Sprintf("%s: %s", b.key, fmtDuration(b.max)),
				"%s is %s, above the recommended %s: a stolen refresh token stays usable that long", b.key, fmtDuration(b.v), fmtDuration(b.max))
		}
	}
	for _, c := range in.Clients {
		if !registration.HasGrant(c, oauth.GrantRefreshToken) {
			continue
		}
		maxIdle, maxAbs := MaxConfidentialRefreshIdle, MaxConfidentialRefreshAbsolute
		if c.Public {
			maxIdle, maxAbs = MaxPublicRefreshIdle, MaxPublicRefreshAbsolute
		}
		// Only the client's own values: the defaults are reported above.
		if c.RefreshIdle > maxIdle {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --refresh-idle %s", c.ID, fmtDuration(maxIdle)),
				"refresh idle timeout %s is above the recommended %s for a %s client", fmtDuration(c.RefreshIdle), fmtDuration(maxIdle), registration.ClientType(c))
		}
		if c.RefreshAbsolute > maxAbs {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --refresh-absolute %s", c.ID, fmtDuration(maxAbs)),
				"refresh absolute lifetime %s is above the recommended %s for a %s client", fmtDuration(c.RefreshAbsolute), fmtDuration(maxAbs), registration.ClientType(c))
		}
	}
}

func checkGraceLong(in *Input, r *reporter) {
	for _, c := range in.Clients {
		// A defeated rotation is already an error; one finding is enough.
		if registration.HasGrant(c, oauth.GrantRefreshToken) && legacyGrace(c) && !rotationDefeated(in.Config, c) {
			r.add(clientSubject(c), fmt.Sprintf("latch client update %s --refresh-grace 10s (so the stored value matches what is enforced)", c.ID),
				"refresh grace %s is stored, above the maximum of %s registration accepts: the client was registered before the bound existed; the server already caps the window at %[2]s, so the record says more than is enforced",
				fmtDuration(c.RefreshGrace), fmtDuration(registration.MaxRefreshGrace))
		}
	}
}

func checkMixedGrants(in *Input, r *reporter) {
	for _, c := range in.Clients {
		if !registration.HasGrant(c, oauth.GrantClientCredentials) || !registration.HasGrant(c, oauth.GrantAuthorizationCode) {
			continue
		}
		var user []string
		for _, g := range c.GrantTypes {
			if g != string(oauth.GrantClientCredentials) {
				user = append(user, g)
			}
		}
		fix := fmt.Sprintf("latch client create --id %s-service --confidential --grant-type client_credentials (with its scopes and audiences), then latch client update %s --grant-type %s",
			c.ID, c.ID, strings.Join(user, ","))
		r.add(clientSubject(c), fix,
			"the client gets tokens for users (sub = the user) and for itself (sub = %q) with one secret: a resource server that does not tell them apart may take the client's own token for a user's, and one leaked secret yields both", c.ID)
	}
}

func checkConfidentialLoopback(in *Input, r *reporter) {
	if !productionIssuer(in.Config) {
		return
	}
	for _, c := range in.Clients {
		if c.Public {
			continue
		}
		var loop []string
		for _, u := range c.RedirectURIs {
			// Registration allows http only on loopback hosts.
			if strings.HasPrefix(u, "http://") {
				loop = append(loop, u)
			}
		}
		if len(loop) == 0 {
			continue
		}
		keep := httpsRedirects(c)
		fix := fmt.Sprintf("latch client update %s --redirect-uri %s", c.ID, strings.Join(keep, ","))
		if len(keep) == 0 {
			fix = fmt.Sprintf("latch client update %s --redirect-uri https://… (or register the native app as its own --public client)", c.ID)
		}
		r.add(clientSubject(c), fix,
			"confidential client with http loopback redirect URI %s in production: http redirect URIs are only for native apps using loopback redirection; on a web client it is likely a development leftover", strings.Join(loop, ", "))
	}
}

// --- keys ---

func checkKeyAge(in *Input, r *reporter) {
	for _, k := range in.Keys {
		if k.Status != token.StatusActive || k.CreatedAt.IsZero() {
			continue
		}
		if age := in.Now.Sub(k.CreatedAt); age > in.KeyMaxAge {
			r.add("key "+k.ID, "latch keys rotate --alg "+k.Alg,
				"active %s key created %s, %s ago: older than %s", k.Alg, k.CreatedAt.UTC().Format(time.DateOnly), days(age), days(in.KeyMaxAge))
		}
	}
}

func checkActiveKey(in *Input, r *reporter) {
	alg := in.Config.SigningAlg
	if !slices.Contains(token.Algorithms(), alg) {
		return // config-invalid reports it
	}
	for _, k := range in.Keys {
		if k.Alg == alg && k.Status == token.StatusActive {
			return
		}
	}
	r.add(configSubject, "start latch serve once (it creates the keys), or latch keys rotate --alg "+alg,
		"no active %s signing key yet", alg)
}

// fmtDuration formats d as the CLI flags accept it ("10s", "168h").
func fmtDuration(d time.Duration) string { return registration.FormatDuration(d) }

// days formats d in whole days ("90d"), for ages and long bounds.
func days(d time.Duration) string { return fmt.Sprintf("%dd", int(d/(24*time.Hour))) }
