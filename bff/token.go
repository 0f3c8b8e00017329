package bff

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// tokens are a session's tokens; they exist sealed in the store and in
// memory for one request, never in a response to the browser.
type tokens struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"` // on the BFF's clock; zero: none announced
}

// tokenError is the token endpoint's error response (RFC 6749 §5.2).
type tokenError struct {
	Status int
	Code   string `json:"error"`
	Desc   string `json:"error_description"`
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("token endpoint: HTTP %d %s: %s", e.Status, e.Code, e.Desc)
}

// tokenRequest calls the token endpoint with form plus the client's
// authentication (Config.ClientAuth), the resource indicators (RFC 8707
// §2.2) and, with Config.DPoP, a proof (RFC 9449 §5; one retry with the
// server's DPoP-Nonce, §8). It does not verify the ID token.
func (b *BFF) tokenRequest(ctx context.Context, form url.Values) (*tokens, error) {
	for _, r := range b.cfg.Resources {
		form.Add("resource", r)
	}
	nonce := ""
	for attempt := 0; ; attempt++ {
		res, err := b.postForm(ctx, b.ep.Token, form, nonce)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			te := &tokenError{Status: res.StatusCode}
			_ = json.Unmarshal(body, te)
			if te.Code == "use_dpop_nonce" && attempt == 0 && res.Header.Get("DPoP-Nonce") != "" {
				nonce = res.Header.Get("DPoP-Nonce")
				continue
			}
			return nil, te
		}
		var out struct {
			tokens
			ExpiresIn int64 `json:"expires_in"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("token endpoint: %w", err)
		}
		if out.AccessToken == "" {
			return nil, fmt.Errorf("token endpoint: no access_token")
		}
		if out.ExpiresIn > 0 {
			out.Expiry = b.now().Add(time.Duration(out.ExpiresIn) * time.Second)
		}
		return &out.tokens, nil
	}
}

// postForm posts form to endpoint with client authentication (and a DPoP
// proof for the token endpoint when configured).
func (b *BFF) postForm(ctx context.Context, endpoint string, form url.Values, dpopNonce string) (*http.Response, error) {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	switch b.cfg.ClientAuth {
	case ClientSecretPost:
		f.Set("client_id", b.cfg.ClientID)
		f.Set("client_secret", b.cfg.ClientSecret)
	case PrivateKeyJWT:
		// RFC 7523 §3: aud is the issuer (OIDC Core §9 also allows the
		// token endpoint; the issuer is what Latch documents).
		a, err := b.cfg.ClientAssertion(ctx, b.cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("client assertion: %w", err)
		}
		f.Set("client_id", b.cfg.ClientID)
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", a)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(f.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if b.cfg.ClientAuth == ClientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(b.cfg.ClientID), url.QueryEscape(b.cfg.ClientSecret)) // RFC 6749 §2.3.1
	}
	if b.cfg.DPoP != nil && endpoint == b.ep.Token {
		proof, err := b.cfg.DPoP.Proof(ctx, http.MethodPost, endpoint, "", dpopNonce)
		if err != nil {
			return nil, fmt.Errorf("dpop proof: %w", err)
		}
		req.Header.Set("DPoP", proof)
	}
	return b.client.Do(req)
}

// revoke revokes a refresh token at Latch (RFC 7009 §2.1). Best effort:
// logout goes on when it fails.
func (b *BFF) revoke(ctx context.Context, refreshToken string) error {
	if b.ep.Revocation == "" || refreshToken == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := b.postForm(ctx, b.ep.Revocation, url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}, "")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation: HTTP %d", res.StatusCode)
	}
	return nil
}

// oidcContext carries the BFF's HTTP client to go-oidc (JWKS fetches).
func (b *BFF) oidcContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, b.client)
}
