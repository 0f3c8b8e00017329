package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// WellKnownProtectedResource is the well-known path of protected resource
// metadata (RFC 9728 §3). A resource identifier with a path component
// puts it after this one (§3.1): the metadata of
// https://api.example.com/mcp is at
// https://api.example.com/.well-known/oauth-protected-resource/mcp.
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// ResourceMetadata is the protected resource metadata of RFC 9728 §2 that
// a resource server publishes so clients can find out, from nothing but
// its URL, which authorization server issues tokens for it, which scopes
// exist, and how to present a token. Only members this package enforces
// are set by default: see Config.ResourceMetadata.
type ResourceMetadata struct {
	// Resource is the resource identifier (RFC 9728 §1.2, RFC 8707 §2):
	// an https URL without fragment, the value clients send as resource
	// and that Latch puts in the access token's aud. Empty:
	// Config.Audience.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuers whose tokens this resource
	// accepts. Empty: Config.Issuer (the only one this verifier trusts).
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported are the scopes the resource's routes require
	// (RFC 9728 §2: RECOMMENDED). Clients without a scope hint in a
	// challenge ask for these.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported is set by New to ["header"]: this package
	// reads the Authorization header only (RFC 6750 §2.1), never a form
	// body or a query parameter.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceName is a human-readable name (RFC 9728 §2), optional.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is a URL of developer documentation, optional.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// DPoPSigningAlgValuesSupported is set by New to Config.DPoPAlgorithms:
	// the algorithms a DPoP proof may use here (RFC 9728 §2, RFC 9449).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// resourceMeta is the published document and where it lives.
type resourceMeta struct {
	doc  []byte // the JSON served
	path string // WellKnownProtectedResource + the resource's path
	url  string // scheme://host + path: the resource_metadata parameter
}

// newResourceMeta completes m from cfg and checks it. It returns the
// resource identifier, which the verifier then requires in aud.
func newResourceMeta(cfg Config, dpopAlgs []string) (*resourceMeta, string, error) {
	m := *cfg.ResourceMetadata
	if cfg.SkipAudienceCheck {
		return nil, "", errors.New("verify: Config.ResourceMetadata cannot be combined with SkipAudienceCheck: the metadata names the one audience tokens must have")
	}
	switch {
	case m.Resource == "":
		m.Resource = cfg.Audience
	case cfg.Audience != "" && cfg.Audience != m.Resource:
		// RFC 8707 §2 and RFC 9728 §1.2: clients ask for a token with
		// resource=<the identifier>, and the issuer puts that value in
		// aud. An Audience that differs would refuse every such token.
		return nil, "", fmt.Errorf("verify: Config.Audience %q differs from ResourceMetadata.Resource %q: tokens for this resource carry its identifier as aud, so they must be equal (set one of them)", cfg.Audience, m.Resource)
	}
	if err := checkURL("ResourceMetadata.Resource", m.Resource, cfg.InsecureAllowHTTP); err != nil {
		return nil, "", err
	}
	u, _ := url.Parse(m.Resource)
	// RFC 9728 §1.2: the identifier MUST NOT have a fragment, SHOULD NOT
	// have a query; a query would not survive path insertion (§3.1).
	if u.Fragment != "" || strings.Contains(m.Resource, "#") || u.RawQuery != "" || u.User != nil {
		return nil, "", fmt.Errorf("verify: ResourceMetadata.Resource %q must have no fragment, query or user info (RFC 9728 §1.2)", m.Resource)
	}
	if len(m.AuthorizationServers) == 0 {
		m.AuthorizationServers = []string{cfg.Issuer}
	} else if !slices.Contains(m.AuthorizationServers, cfg.Issuer) {
		return nil, "", fmt.Errorf("verify: ResourceMetadata.AuthorizationServers %v must include Config.Issuer %q, the only issuer this verifier accepts", m.AuthorizationServers, cfg.Issuer)
	}
	m.AuthorizationServers = slices.Clone(m.AuthorizationServers)
	m.ScopesSupported = slices.Clone(m.ScopesSupported)
	m.BearerMethodsSupported = []string{"header"}
	m.DPoPSigningAlgValuesSupported = dpopAlgs
	doc, err := json.Marshal(m)
	if err != nil {
		return nil, "", fmt.Errorf("verify: ResourceMetadata: %w", err)
	}
	// RFC 9728 §3.1: insert the well-known path between the host and the
	// path, after removing a terminating slash.
	path := WellKnownProtectedResource + strings.TrimSuffix(u.EscapedPath(), "/")
	return &resourceMeta{
		doc:  doc,
		path: path,
		url:  u.Scheme + "://" + u.Host + path,
	}, m.Resource, nil
}

// ResourceMetadataURL is the URL of this resource's metadata (RFC 9728
// §3.1), which every challenge carries as resource_metadata (§5.1); ""
// without Config.ResourceMetadata.
func (v *Verifier) ResourceMetadataURL() string {
	if v.meta == nil {
		return ""
	}
	return v.meta.url
}

// ResourceMetadataPath is the path of ResourceMetadataURL, for a mux:
//
//	mux.Handle("GET "+v.ResourceMetadataPath(), v.ResourceMetadataHandler())
//
// It is "" without Config.ResourceMetadata.
func (v *Verifier) ResourceMetadataPath() string {
	if v.meta == nil {
		return ""
	}
	return v.meta.path
}

// ResourceMetadataHandler serves the metadata document (RFC 9728 §3.2) to
// GET and HEAD wherever it is mounted: at ResourceMetadataPath, and if
// you like at WellKnownProtectedResource too (some clients look only
// there; the document names the resource either way, and RFC 9728 §3.3
// makes the client compare it). The document is public and the same for
// everyone, so it is served with CORS for any origin (browser-based
// clients read it) and may be cached for an hour. Without
// Config.ResourceMetadata it answers 404.
func (v *Verifier) ResourceMetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v.meta == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodHead {
			return
		}
		w.Write(v.meta.doc)
	})
}
