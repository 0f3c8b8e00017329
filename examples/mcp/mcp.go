// Package mcp is Latch's example MCP server: a Model Context Protocol
// server (the official Go SDK, streamable HTTP transport) whose tools
// need an access token from Latch. It shows what the MCP authorization
// specification asks of a server, all done by the verify package:
//
//   - RFC 9728 protected resource metadata at the well-known URL derived
//     from the server's URL, naming Latch as the authorization server, so
//     a client that knows only the server's URL can sign in;
//   - 401 with WWW-Authenticate: Bearer resource_metadata="…",
//     scope="mcp:tools" for a request without a valid token, 403
//     error="insufficient_scope" for a token without the scope;
//   - the token's aud must be this server's identifier (RFC 8707): a token
//     a client got for another MCP server is refused here.
//
// The MCP session is bound to the user (the token's sub): a request
// carrying another user's token with a session's ID is refused, so a
// leaked session ID is not a credential.
//
// cmd/mcp runs it next to `latch dev`; e2e/mcp.test.js drives it with the
// official TypeScript client. The latch binary does not link it.
package mcp

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/latchauth/latch/verify"
)

// ScopeTools is the scope every tool call needs.
const ScopeTools = "mcp:tools"

// WhoAmI is the result of the whoami tool: who the token says is calling.
type WhoAmI struct {
	Sub      string   `json:"sub"`       // the user
	ClientID string   `json:"client_id"` // the MCP client acting for them
	Scopes   []string `json:"scopes"`
	Audience []string `json:"aud"` // this server's identifier, among others
}

// Echo is the input and result of the echo tool.
type Echo struct {
	Text string `json:"text" jsonschema:"the text to send back"`
}

// claimsKey is the TokenInfo.Extra key of the verified claims.
const claimsKey = "latch.claims"

// NewServer returns the MCP server with its two tools.
func NewServer() *gomcp.Server {
	s := gomcp.NewServer(&gomcp.Implementation{Name: "latch-example-mcp", Version: "1.0.0"}, nil)
	gomcp.AddTool(s, &gomcp.Tool{Name: "whoami", Description: "who the access token says is calling: user, client, scopes, audience"},
		func(_ context.Context, req *gomcp.CallToolRequest, _ struct{}) (*gomcp.CallToolResult, WhoAmI, error) {
			c := claimsOf(req)
			if c == nil { // not reached behind Handler's middleware
				return nil, WhoAmI{}, errNoClaims
			}
			return nil, WhoAmI{Sub: c.Subject, ClientID: c.ClientID, Scopes: c.Scopes, Audience: c.Audience}, nil
		})
	gomcp.AddTool(s, &gomcp.Tool{Name: "echo", Description: "sends the text back"},
		func(_ context.Context, _ *gomcp.CallToolRequest, in Echo) (*gomcp.CallToolResult, Echo, error) {
			return nil, in, nil
		})
	return s
}

var errNoClaims = errors.New("no verified access token")

func claimsOf(req *gomcp.CallToolRequest) *verify.Claims {
	if req.Extra == nil || req.Extra.TokenInfo == nil {
		return nil
	}
	c, _ := req.Extra.TokenInfo.Extra[claimsKey].(*verify.Claims)
	return c
}

// Handler serves the MCP endpoint at path (the path of v's resource
// identifier, e.g. "/mcp") and the resource's metadata. v must have
// Config.ResourceMetadata. Every MCP request passes v.Middleware first,
// so every rejection is verify's RFC 6750 / RFC 9728 answer.
func Handler(v *verify.Verifier, path string) http.Handler {
	mux := http.NewServeMux()
	meta := v.ResourceMetadataHandler()
	mux.Handle("GET "+v.ResourceMetadataPath(), meta)
	// Some clients look for the metadata only at the root well-known URL
	// (RFC 9728 §3.1 without path insertion): the document names the
	// resource, and §3.3 makes the client check it.
	if v.ResourceMetadataPath() != verify.WellKnownProtectedResource {
		mux.Handle("GET "+verify.WellKnownProtectedResource, meta)
	}
	server := NewServer()
	streamable := gomcp.NewStreamableHTTPHandler(func(*http.Request) *gomcp.Server { return server }, nil)
	mux.Handle(path, v.Middleware(ScopeTools)(bindSession(streamable)))
	return mux
}

// bindSession hands the claims verify checked to the SDK as its
// auth.TokenInfo, whose UserID the SDK binds each MCP session to (a
// request for a session with another user's token is refused) and which
// tools read (CallToolRequest.Extra.TokenInfo).
//
// The SDK's RequireBearerToken is only the carrier: verify has already
// checked the token (signature, iss, aud, exp with leeway, scope, and the
// DPoP proof of a DPoP-bound token), so its verifier function just
// returns the claims, and the header it parses is set to a Bearer
// placeholder because it does not know the DPoP scheme.
func bindSession(next http.Handler) http.Handler {
	fromVerify := func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		c, ok := verify.FromContext(ctx)
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: c.Subject, Scopes: c.Scopes, Extra: map[string]any{claimsKey: c}}, nil
	}
	carrier := auth.RequireBearerToken(fromVerify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); !strings.EqualFold(scheme, verify.SchemeBearer) {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer verified-by-latch-verify")
		}
		carrier.ServeHTTP(w, r)
	})
}
