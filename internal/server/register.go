package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Dynamic client registration (RFC 7591) and management (RFC 7592).
//
// POST /register creates a client from the metadata in its JSON body;
// GET, PUT and DELETE /register/{client_id} read, replace and delete it
// with the registration access token the creation returned. Invariants:
//   - the endpoint exists only when Registration.Mode is not off, and
//     discovery advertises registration_endpoint exactly then;
//   - in initial-access-token mode a registration spends one use of a
//     token an operator created (store.UseInitialAccessToken, atomic);
//   - every client is validated by registration.ValidateClient, the
//     operator's rules (exact redirect URIs, https or loopback http, no
//     wildcards), with grant types limited to Registration.GrantTypes; a
//     public client cannot get a code without PKCE (authorize.go);
//   - registered clients are third-party (consent is always asked) and
//     Origin dcr, so operators see and delete them (latch client list);
//   - the registration access token and any client secret are 256-bit
//     random and stored only as SHA-256 hashes;
//   - attempts are counted per client IP (store.ReserveAttempt, so a
//     concurrent burst gets at most MaxPerIP through in a window).

// Registration configures dynamic client registration.
type Registration struct {
	// Mode is RegistrationOff (or ""), RegistrationInitialAccessToken or
	// RegistrationOpen.
	Mode string
	// GrantTypes are the grant types a registered client may have.
	GrantTypes []string
	// MaxPerIP bounds registration attempts per client IP (IPv4 address,
	// IPv6 /64) within Window.
	MaxPerIP int
	Window   time.Duration
	// Resources are the resource indicators (RFC 8707) every
	// self-registered client — OriginDCR or OriginCIMD — may ask for, as
	// if registered as its audiences: a client that registered itself
	// cannot name its own audiences, and an MCP client always sends
	// resource. Config registration-resources.
	Resources []string
}

// Registration modes (config registration).
const (
	RegistrationOff                = "off"
	RegistrationInitialAccessToken = "initial-access-token"
	RegistrationOpen               = "open"
)

func (r Registration) enabled() bool {
	return r.Mode == RegistrationInitialAccessToken || r.Mode == RegistrationOpen
}

// maxRegistrationBody caps a registration request body.
const maxRegistrationBody = 64 << 10

// clientMetadata is the RFC 7591 §2 metadata Latch reads and returns.
// Other members are ignored, as §2 asks.
type clientMetadata struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	// ClientID is only read by RFC 7592 §2.2 updates, which must repeat it.
	ClientID string `json:"client_id,omitempty"`
}

// registrationResponse is RFC 7591 §3.2.1 (and RFC 7592 §3).
type registrationResponse struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	clientMetadata
}

// handleRegister is the client registration endpoint (RFC 7591 §3).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.reserveRegistration(ctx, r); err != nil {
		return err
	}
	md, err := decodeMetadata(w, r)
	if err != nil {
		return err
	}
	c, err := s.registeredClient(md, store.Client{})
	if err != nil {
		return err
	}
	// RFC 7591 §3: the initial access token is spent only by a request
	// that would otherwise succeed.
	if s.opts.Registration.Mode == RegistrationInitialAccessToken {
		iat, err := bearerCredential(r)
		if err != nil {
			return err
		}
		if _, err := s.store.UseInitialAccessToken(ctx, token.Hash(iat), s.now()); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) {
				return oauth.Errorf(oauth.InvalidToken, "the initial access token is unknown, expired or used up: ask the server's operator for a new one (latch client token)")
			}
			return err
		}
	}
	c.ID = token.NewOpaque()
	c.CreatedAt = s.now()
	c.Origin = store.OriginDCR
	rat := token.NewOpaque()
	c.RegistrationTokenHash = token.Hash(rat)
	var secret string
	if !c.Public {
		secret, c.SecretHash = registration.NewClientSecret()
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return err
	}
	s.origins.invalidate() // its origins are allowed at once
	s.auditLog(ctx, "client_registered", "client_id", c.ID, "client_ip", s.clientIP(r).String(), "mode", s.opts.Registration.Mode)
	resp := s.registrationResponse(c, secret, rat)
	if md.TokenEndpointAuthMethod == string(oauth.AuthClientSecretPost) {
		// Both secret methods are accepted at the token endpoint; echo the
		// one asked for (RFC 7591 §3.2.1: the metadata as registered).
		resp.TokenEndpointAuthMethod = md.TokenEndpointAuthMethod
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// reserveRegistration counts one registration attempt against the
// client IP's budget, atomically, before anything else is done.
func (s *Server) reserveRegistration(ctx context.Context, r *http.Request) error {
	reg := s.opts.Registration
	budget := store.Budget{Key: "register:ip:" + ipKey(s.clientIP(r)), Limit: reg.MaxPerIP}
	// The lease is the whole window: a registration attempt is never
	// given back, it counts until the window has passed.
	_, ok, _, err := s.store.ReserveAttempt(ctx, s.now(), reg.Window, reg.Window, budget)
	if err != nil {
		return err
	}
	if !ok {
		return &oauth.Error{Code: oauth.SlowDown, RetryAfter: int(reg.Window / time.Second),
			Description: "too many client registrations from this address; retry later"}
	}
	return nil
}

// decodeMetadata reads the JSON body of a registration or update.
func decodeMetadata(w http.ResponseWriter, r *http.Request) (clientMetadata, error) {
	var md clientMetadata
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return md, oauth.Errorf(oauth.InvalidClientMetadata, "send the client metadata as a JSON object with Content-Type: application/json (RFC 7591 section 3.1)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRegistrationBody))
	if err := dec.Decode(&md); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return md, oauth.Errorf(oauth.InvalidClientMetadata, "%s has the wrong JSON type (RFC 7591 section 2)", te.Field)
		}
		return md, (&oauth.Error{Code: oauth.InvalidClientMetadata, Description: "the body is not a JSON object of client metadata (at most 64 KiB)"}).WithCause(err)
	}
	return md, nil
}

// registeredClient validates md into a client, on top of old (an
// update keeps old's ID, secret, origin and token hash). The errors are
// RFC 7591 §3.2.2's.
func (s *Server) registeredClient(md clientMetadata, old store.Client) (store.Client, error) {
	bad := func(format string, args ...any) error {
		return oauth.Errorf(oauth.InvalidClientMetadata, format, args...)
	}
	c := old
	switch md.TokenEndpointAuthMethod {
	case string(oauth.AuthNone):
		c.Public = true
	case "", string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost): // "" is client_secret_basic, RFC 7591 §2
		c.Public = false
	default:
		return c, bad("token_endpoint_auth_method %q is not supported: use none (a public client with PKCE), client_secret_basic or client_secret_post", md.TokenEndpointAuthMethod)
	}
	if old.ID != "" && c.Public != old.Public {
		return c, bad("token_endpoint_auth_method cannot change between none and a client secret: register a new client")
	}
	for _, rt := range md.ResponseTypes {
		if rt != "code" {
			return c, bad("response_types %q is not supported: Latch issues only authorization codes (response_types [\"code\"])", rt)
		}
	}
	c.GrantTypes = md.GrantTypes
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{string(oauth.GrantAuthorizationCode)} // RFC 7591 §2 default
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(s.opts.Registration.GrantTypes, g) {
			return c, bad("grant type %q is not allowed for dynamically registered clients on this server (allowed: %s)", g, strings.Join(s.opts.Registration.GrantTypes, ", "))
		}
	}
	c.Scopes = nil
	if md.Scope != "" {
		sc, err := oauth.ParseScope(md.Scope)
		if err != nil {
			return c, bad("scope must be space-separated scope tokens (RFC 6749 section 3.3)")
		}
		c.Scopes = sc
	}
	c.Name = md.ClientName
	c.RedirectURIs = md.RedirectURIs
	c.PostLogoutRedirectURIs = md.PostLogoutRedirectURIs
	c.FirstParty = false // RFC 7591 §5: a registered client is not trusted; consent is always asked
	if c.ID == "" {
		c.ID = "registering" // ValidateClient checks the ID; the real one is random
	}
	if err := registration.ValidateClient(&c, registration.Field.JSON); err != nil {
		var re *registration.Error
		if errors.As(err, &re) && (re.Field == registration.FieldRedirectURIs || re.Field == registration.FieldPostLogoutRedirectURIs) {
			return c, oauth.Errorf(oauth.InvalidRedirectURI, "%s", re.Error())
		}
		return c, bad("%s", err.Error())
	}
	// CORS: a public browser app may call the API endpoints from the
	// origins of its (now validated) redirect URIs, and from no other.
	// RFC 7591 has no origins member, and clientMetadata reads none, so
	// the metadata cannot name one; an update recomputes them.
	c.AllowedOrigins = registration.RedirectOrigins(c, s.issuerOrigin())
	return c, nil
}

func (s *Server) registrationResponse(c store.Client, secret, rat string) registrationResponse {
	resp := registrationResponse{
		ClientID:                c.ID,
		ClientSecret:            secret,
		ClientIDIssuedAt:        c.CreatedAt.Unix(),
		RegistrationAccessToken: rat,
		RegistrationClientURI:   s.url(pathRegister + "/" + c.ID),
		clientMetadata: clientMetadata{
			RedirectURIs:            c.RedirectURIs,
			TokenEndpointAuthMethod: string(oauth.AuthNone),
			GrantTypes:              c.GrantTypes,
			ResponseTypes:           []string{"code"},
			ClientName:              c.Name,
			Scope:                   strings.Join(c.Scopes, " "),
			PostLogoutRedirectURIs:  c.PostLogoutRedirectURIs,
		},
	}
	if !slices.Contains(c.GrantTypes, string(oauth.GrantAuthorizationCode)) {
		resp.ResponseTypes = []string{}
	}
	if !c.Public {
		resp.TokenEndpointAuthMethod = string(oauth.AuthClientSecretBasic)
		never := int64(0) // RFC 7591 §3.2.1: 0, the secret does not expire
		resp.ClientSecretExpiresAt = &never
	}
	return resp
}

// errRegistrationToken is the one answer for a missing or wrong
// registration access token, and for a client that does not exist or was
// not registered dynamically: RFC 7592 §2.1 asks for 401 rather than
// revealing which.
var errRegistrationToken = oauth.Errorf(oauth.InvalidToken, "the registration access token is invalid for this client")

// configuredClient authenticates an RFC 7592 request: the client in the
// path, registered dynamically, whose registration access token hash is
// that of the bearer token (compared in constant time). It returns the
// client and the token.
func (s *Server) configuredClient(r *http.Request) (store.Client, string, error) {
	rat, err := bearerCredential(r)
	if err != nil {
		return store.Client{}, "", err
	}
	c, err := s.store.GetClient(r.Context(), r.PathValue("client_id"))
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, "", errRegistrationToken
	}
	if err != nil {
		return store.Client{}, "", err
	}
	if c.Origin != store.OriginDCR || c.RegistrationTokenHash == "" ||
		subtle.ConstantTimeCompare([]byte(token.Hash(rat)), []byte(c.RegistrationTokenHash)) != 1 {
		return store.Client{}, "", errRegistrationToken
	}
	return c, rat, nil
}

// handleRegistrationRead is RFC 7592 §2.1.
func (s *Server) handleRegistrationRead(w http.ResponseWriter, r *http.Request) error {
	c, rat, err := s.configuredClient(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.registrationResponse(c, "", rat))
	return nil
}

// handleRegistrationUpdate is RFC 7592 §2.2: the body replaces the
// client's metadata and must repeat its client_id.
func (s *Server) handleRegistrationUpdate(w http.ResponseWriter, r *http.Request) error {
	c, rat, err := s.configuredClient(r)
	if err != nil {
		return err
	}
	md, err := decodeMetadata(w, r)
	if err != nil {
		return err
	}
	if md.ClientID != c.ID {
		return oauth.Errorf(oauth.InvalidClientMetadata, "client_id in the body must equal the client being updated (RFC 7592 section 2.2)")
	}
	nc, err := s.registeredClient(md, c)
	if err != nil {
		return err
	}
	if err := s.store.UpdateClient(r.Context(), nc); err != nil {
		return err
	}
	s.origins.invalidate()
	s.auditLog(r.Context(), "client_registration_updated", "client_id", c.ID)
	writeJSON(w, http.StatusOK, s.registrationResponse(nc, "", rat))
	return nil
}

// handleRegistrationDelete is RFC 7592 §2.3.
func (s *Server) handleRegistrationDelete(w http.ResponseWriter, r *http.Request) error {
	c, _, err := s.configuredClient(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteClient(r.Context(), c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.origins.invalidate()
	s.auditLog(r.Context(), "client_registration_deleted", "client_id", c.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bearerCredential is the token of an "Authorization: Bearer" header
// (RFC 6750 §2.1), the only way an initial or registration access token
// is accepted; a missing one is answered with a bare challenge.
func bearerCredential(r *http.Request) (string, error) {
	scheme, tok, err := accessToken(r)
	if err != nil {
		return "", err
	}
	if scheme != schemeBearer {
		return "", oauth.Errorf(oauth.InvalidRequest, "send the token as Authorization: Bearer <token>")
	}
	return tok, nil
}
