package server

import (
	"net/http"

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
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods       []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                        []string `json:"claims_supported"`
	PromptValuesSupported                  []string `json:"prompt_values_supported"`
	DPoPSigningAlgValuesSupported          []string `json:"dpop_signing_alg_values_supported"`
	AuthorizationResponseISSParameter      bool     `json:"authorization_response_iss_parameter_supported"`
	ClaimsParameterSupported               bool     `json:"claims_parameter_supported"`
	RequestParameterSupported              bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported           bool     `json:"request_uri_parameter_supported"`
	FrontchannelLogoutSupported            bool     `json:"frontchannel_logout_supported"`
	BackchannelLogoutSupported             bool     `json:"backchannel_logout_supported"`
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
		GrantTypesSupported:                    []string{string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken), string(oauth.GrantClientCredentials)},
		SubjectTypesSupported:                  []string{"public"},
		IDTokenSigningAlgValuesSupported:       token.Algorithms(),
		TokenEndpointAuthMethodsSupported:      []string{string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost), string(oauth.AuthNone)},
		RevocationEndpointAuthMethodsSupported: []string{string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost), string(oauth.AuthNone)},
		IntrospectionEndpointAuthMethods:       []string{string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost)},
		CodeChallengeMethodsSupported:          []string{oauth.MethodS256},
		ClaimsSupported:                        []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid", "amr", "name", "preferred_username", "email", "email_verified"},
		PromptValuesSupported:                  []string{oauth.PromptNone, oauth.PromptLogin, oauth.PromptConsent},
		DPoPSigningAlgValuesSupported:          token.DPoPAlgorithms(), // RFC 9449 §5.1
		AuthorizationResponseISSParameter:      true,
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
	// Short caching: a rotation must reach clients soon.
	h.Set("Cache-Control", "public, max-age=60")
	_, err = w.Write(b)
	return err
}
