package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/token"
)

// metadata is the OpenID Provider metadata (OIDC Discovery 1.0 §3), also
// served as OAuth 2.0 Authorization Server Metadata (RFC 8414 §2).
type metadata struct {
	Issuer                                 string   `json:"issuer"`
	AuthorizationEndpoint                  string   `json:"authorization_endpoint"`
	TokenEndpoint                          string   `json:"token_endpoint"`
	UserinfoEndpoint                       string   `json:"userinfo_endpoint"`
	JWKSURI                                string   `json:"jwks_uri"`
	EndSessionEndpoint                     string   `json:"end_session_endpoint"`
	RevocationEndpoint                     string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                  string   `json:"introspection_endpoint"`
	ScopesSupported                        []string `json:"scopes_supported"`
	ResponseTypesSupported                 []string `json:"response_types_supported"`
	ResponseModesSupported                 []string `json:"response_modes_supported"`
	GrantTypesSupported                    []string `json:"grant_types_supported"`
	SubjectTypesSupported                  []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported       []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported      []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs           []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgs      []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethods       []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgs   []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                        []string `json:"claims_supported"`
	PromptValuesSupported                  []string `json:"prompt_values_supported"`
	ACRValuesSupported                     []string `json:"acr_values_supported"`
	DPoPSigningAlgValuesSupported          []string `json:"dpop_signing_alg_values_supported"`
	AuthorizationResponseISSParameter      bool     `json:"authorization_response_iss_parameter_supported"`
	ClaimsParameterSupported               bool     `json:"claims_parameter_supported"`
	RequestParameterSupported              bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported           bool     `json:"request_uri_parameter_supported"`
	PushedAuthorizationRequestEndpoint     string   `json:"pushed_authorization_request_endpoint"` // RFC 9126 §5
	RequirePushedAuthorizationRequests     bool     `json:"require_pushed_authorization_requests"`
	DeviceAuthorizationEndpoint            string   `json:"device_authorization_endpoint"` // RFC 8628 §4
	FrontchannelLogoutSupported            bool     `json:"frontchannel_logout_supported"`
	BackchannelLogoutSupported             bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported      bool     `json:"backchannel_logout_session_supported"`
	// Present only when enabled: RFC 7591 §3, and
	// draft-ietf-oauth-client-id-metadata-document-03 §5.
	RegistrationEndpoint              string `json:"registration_endpoint,omitempty"`
	ClientIDMetadataDocumentSupported bool   `json:"client_id_metadata_document_supported,omitempty"`
}

func (s *Server) metadata() metadata {
	m := s.baseMetadata()
	if s.opts.Registration.enabled() {
		m.RegistrationEndpoint = s.url(pathRegister)
	}
	m.ClientIDMetadataDocumentSupported = s.opts.ClientDocuments != nil && s.opts.ClientDocuments.Policy().Enabled()
	return m
}

func (s *Server) baseMetadata() metadata {
	return metadata{
		Issuer:                                 s.issuer,
		AuthorizationEndpoint:                  s.url(pathAuthorize),
		TokenEndpoint:                          s.url(pathToken),
		UserinfoEndpoint:                       s.url(pathUserinfo),
		JWKSURI:                                s.url(pathJWKS),
		EndSessionEndpoint:                     s.url(pathLogout),
		RevocationEndpoint:                     s.url(pathRevoke),
		IntrospectionEndpoint:                  s.url(pathIntrospect),
		ScopesSupported:                        []string{oauth.ScopeOpenID, oauth.ScopeProfile, oauth.ScopeEmail, oauth.ScopeOfflineAccess},
		ResponseTypesSupported:                 []string{"code"},
		ResponseModesSupported:                 []string{string(oauth.ResponseModeQuery), string(oauth.ResponseModeFragment), string(oauth.ResponseModeFormPost)},
		GrantTypesSupported:                    []string{string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken), string(oauth.GrantClientCredentials), string(oauth.GrantDeviceCode)},
		SubjectTypesSupported:                  []string{"public"},
		IDTokenSigningAlgValuesSupported:       token.Algorithms(),
		TokenEndpointAuthMethodsSupported:      []string{string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost), string(oauth.AuthPrivateKeyJWT), string(oauth.AuthNone)},
		TokenEndpointAuthSigningAlgs:           token.ClientAssertionAlgorithms(), // RFC 8414 §2: private_key_jwt
		RevocationEndpointAuthMethodsSupported: []string{string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost), string(oauth.AuthPrivateKeyJWT), string(oauth.AuthNone)},
		RevocationEndpointAuthSigningAlgs:      token.ClientAssertionAlgorithms(),
		IntrospectionEndpointAuthMethods:       []string{string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost), string(oauth.AuthPrivateKeyJWT)},
		IntrospectionEndpointAuthSigningAlgs:   token.ClientAssertionAlgorithms(),
		CodeChallengeMethodsSupported:          []string{oauth.MethodS256},
		ClaimsSupported:                        []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid", "acr", "amr", "name", "preferred_username", "email", "email_verified"},
		PromptValuesSupported:                  []string{oauth.PromptNone, oauth.PromptLogin, oauth.PromptConsent},
		ACRValuesSupported:                     oauth.ACRsSupported(s.opts.Passkeys != nil), // OIDC Discovery §3
		// The claims parameter is honoured for id_token.acr (OIDC Core
		// §5.5.1.1); other members are accepted and claims are released
		// by scope (§5.5: a requested claim may be absent).
		ClaimsParameterSupported:           true,
		DPoPSigningAlgValuesSupported:      token.DPoPAlgorithms(), // RFC 9449 §5.1
		AuthorizationResponseISSParameter:  true,
		PushedAuthorizationRequestEndpoint: s.url(pathPAR),
		RequirePushedAuthorizationRequests: s.opts.RequirePAR,
		// OpenID Connect Back-Channel Logout 1.0 §2.1: Logout Tokens go to
		// every client with a backchannel_logout_uri that got tokens in
		// the ended session, and always carry sid (and sub).
		BackchannelLogoutSupported:        true,
		BackchannelLogoutSessionSupported: true,
		DeviceAuthorizationEndpoint:       s.url(pathDeviceAuth),
	}
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	return writePublicJSON(w, s.metadata())
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	b, err := s.keys.JWKS(r.Context())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	// RFC 9111 §5.2.2.1. The max-age comes from the key schedule
	// (token.Keys.JWKSMaxAge): a cached copy expires before any key it
	// lacks can sign.
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.keys.JWKSMaxAge(r.Context())/time.Second)))
	_, err = w.Write(b)
	return err
}
