package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// msgBadClientDocument is the production message of a client ID metadata
// document that cannot be used (translated in internal/ui/locales).
const msgBadClientDocument = "The application's metadata document could not be used to sign you in."

// authorizeClient finds the client of an authorization request. A
// client_id that is an https URL (a client ID metadata document,
// draft-ietf-oauth-client-id-metadata-document-03) is fetched through
// the hardened cimd.Fetcher when the policy allows its host, and the
// validated client is stored (Origin cimd) so the token, userinfo and
// logout endpoints find it; an operator's client with that ID wins. A
// stored cimd client is refused when the policy no longer allows it.
// Errors are store.ErrNotFound (unknown client) or an *authorizePageError.
func (s *Server) authorizeClient(ctx context.Context, req *oauth.AuthorizeRequest) (store.Client, error) {
	id := req.ClientID
	if !cimd.IsClientIDURL(id) {
		return s.store.GetClient(ctx, id)
	}
	stored, err := s.store.GetClient(ctx, id)
	switch {
	case err == nil && stored.Origin != store.OriginCIMD:
		return stored, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Client{}, err
	case s.opts.ClientDocuments == nil:
		return store.Client{}, store.ErrNotFound
	}
	c, err := s.opts.ClientDocuments.Resolve(ctx, id)
	if err != nil {
		return store.Client{}, s.documentError(req, err)
	}
	// CORS: the origins of the document's redirect URIs, and no others
	// (registration.RedirectOrigins); the document cannot name any.
	c.AllowedOrigins = registration.RedirectOrigins(c, s.issuerOrigin())
	c.CreatedAt = s.now()
	wrote := true
	if stored.ID != "" {
		c.CreatedAt = stored.CreatedAt
		if wrote = !sameDocument(stored, c); wrote {
			err = s.store.UpdateClient(ctx, c)
		}
	} else if err = s.store.CreateClient(ctx, c); errors.Is(err, store.ErrAlreadyExists) {
		// Another request stored it first: ours is as fresh.
		err = s.store.UpdateClient(ctx, c)
	}
	if err != nil {
		return store.Client{}, err
	}
	if wrote {
		s.origins.invalidate() // its origins, new or changed, apply at once
	}
	return c, nil
}

// documentClientAllowed reports whether a client stored from a metadata
// document may still use the token endpoint: the policy (cimd-policy, and
// its allow-list) must still accept its client_id, so turning documents
// off also ends the refresh tokens they got. Other clients always may.
func (s *Server) documentClientAllowed(c store.Client) bool {
	if c.Origin != store.OriginCIMD {
		return true
	}
	return s.opts.ClientDocuments != nil && s.opts.ClientDocuments.Allows(c.ID)
}

// authenticateClient is client authentication at every endpoint that
// takes it (/token, /par, /revoke, /introspect, /device_authorization):
// the grant engine's Authenticate, then the metadata-document policy, so a
// document client the policy no longer accepts is refused at each of them
// alike, not only at the token endpoint.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, cred oauth.ClientCredentials) (grant.AuthenticatedClient, error) {
	ac, err := s.grants.Authenticate(ctx, s.clientIP(r), cred)
	if err != nil {
		return grant.AuthenticatedClient{}, err
	}
	if !s.documentClientAllowed(ac.Client()) {
		return grant.AuthenticatedClient{}, errDocumentClientDisabled
	}
	return ac, nil
}

// errDocumentClientDisabled answers a metadata-document client the policy
// no longer accepts.
var errDocumentClientDisabled = oauth.Errorf(oauth.InvalidClient, "this server no longer accepts client ID metadata documents from this client's host (cimd-policy)")

// documentError turns a fetch or validation failure into the error page
// (never a redirect: the redirect URIs come from the document that
// failed, RFC 6749 §4.1.2.1).
func (s *Server) documentError(req *oauth.AuthorizeRequest, err error) error {
	pe := &authorizePageError{clientID: req.ClientID, redirectURI: req.RedirectURI, uiLocales: req.UILocales, plain: msgBadClientDocument}
	var ce *cimd.Error
	switch {
	case errors.Is(err, cimd.ErrDisabled):
		pe.plain = msgUnknownClient
		pe.err = oauth.Errorf(oauth.InvalidRequest, "unknown client_id: this server does not accept client ID metadata documents from this host")
		pe.fix = "This server's cimd-policy does not allow client ID metadata documents from this host: ask the operator to allow it (cimd-policy allow-all, or allow-list with cimd-allowed-hosts), or register the client (latch client create)."
	case errors.As(err, &ce):
		pe.err = &oauth.Error{Code: oauth.InvalidClient, Description: "the client ID metadata document cannot be used: " + ce.Description, Err: err}
		pe.fix = "Fix the client ID metadata document at " + req.ClientID + ": " + ce.Description + "."
	default:
		return err // the context ended: the request's own deadline
	}
	return pe
}

// sameDocument reports whether the stored client already has what the
// document says (the fields ParseDocument sets, and the origins derived
// from them), so an unchanged
// document costs no write.
func sameDocument(a, b store.Client) bool {
	return a.Name == b.Name && a.Public == b.Public && a.FirstParty == b.FirstParty &&
		slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs) &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.Scopes, b.Scopes) && a.SecretHash == b.SecretHash &&
		slices.Equal(a.AllowedOrigins, b.AllowedOrigins)
}

// redirectHost is the host the user is sent back to, shown prominently on
// the consent page of a client nobody registered (a metadata document or
// a dynamic registration).
func redirectHost(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	if u.Host == "" {
		return fmt.Sprintf("%s:", u.Scheme) // a private-use scheme (RFC 8252 §7.1)
	}
	return u.Host
}

// issuerOrigin is the origin of the issuer (RFC 6454), which a client's
// own pages need no CORS for.
func (s *Server) issuerOrigin() string { return registration.URLOrigin(s.opts.Issuer) }
