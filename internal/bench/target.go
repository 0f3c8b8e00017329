package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Target is the server under load: its endpoints and the credentials the
// workloads use. Discover fills the endpoints from the issuer's discovery
// document.
type Target struct {
	// Issuer is the issuer identifier; ID tokens must carry it as iss.
	Issuer        string `json:"issuer"`
	AuthorizeURL  string `json:"authorization_endpoint"`
	TokenURL      string `json:"token_endpoint"`
	IntrospectURL string `json:"introspection_endpoint,omitempty"`
	JWKSURL       string `json:"jwks_uri,omitempty"`

	// ClientID and ClientSecret are a confidential client registered for
	// client_credentials (W1) and allowed to introspect (W4); it
	// authenticates with client_secret_basic.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"-"`
	// CCScope is the scope W1 asks for ("" sends none).
	CCScope string `json:"client_credentials_scope,omitempty"`
	// PublicClientID is a public client for the code flow with PKCE
	// (W2, W5) that gets rotating refresh tokens (W3), with RedirectURI
	// registered. It must not need consent after the first time.
	PublicClientID string `json:"public_client_id,omitempty"`
	RedirectURI    string `json:"redirect_uri,omitempty"`
	// Scope is what the code flow asks for.
	Scope string `json:"scope,omitempty"`
	// Username and Password sign the user in (W2's session, W5).
	Username string `json:"username,omitempty"`
	Password string `json:"-"`
}

// discoveryDoc is the part of OpenID Connect Discovery 1.0 §3 / RFC 8414
// §2 that the workloads need.
type discoveryDoc struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	Introspection string `json:"introspection_endpoint"`
	JWKS          string `json:"jwks_uri"`
}

// Discover reads issuer's OpenID Provider metadata
// (/.well-known/openid-configuration) into t's endpoints. The document's
// issuer must equal issuer (OIDC Discovery §4.3).
func (t *Target) Discover(ctx context.Context, c *http.Client, issuer string) error {
	issuer = strings.TrimSuffix(issuer, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discovery: %s", resp.Status)
	}
	var d discoveryDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if strings.TrimSuffix(d.Issuer, "/") != issuer {
		return fmt.Errorf("discovery: issuer %q, want %q", d.Issuer, issuer)
	}
	if d.Authorization == "" || d.Token == "" {
		return errors.New("discovery: no authorization_endpoint or token_endpoint")
	}
	t.Issuer, t.AuthorizeURL, t.TokenURL, t.IntrospectURL, t.JWKSURL = d.Issuer, d.Authorization, d.Token, d.Introspection, d.JWKS
	return nil
}

// WaitReady polls issuer's discovery document until it answers 200 or ctx
// ends (a freshly started server). alive, when set, is asked between
// attempts and stops the wait with its error (the server process exited).
func WaitReady(ctx context.Context, c *http.Client, issuer string, alive func() error) error {
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("discovery: %s", resp.Status)
		}
		last = err
		if alive != nil {
			if err := alive(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w (last error: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// NewTransport returns the transport every worker shares: keep-alive
// connections, enough idle ones for every worker (so no request pays a TCP
// handshake after warm-up), no compression (the server would spend CPU on
// it), no proxy (the target is local).
func NewTransport(concurrency int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: 30 * time.Second,
		ForceAttemptHTTP2:     false,
	}
}
