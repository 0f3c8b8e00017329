package clientkeys

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/token"
)

// Fetcher gets the document at uri: a client's JWK Set here, a client ID
// metadata document elsewhere. Errors are safe to log; the caller turns
// them into invalid_client.
type Fetcher interface {
	Fetch(ctx context.Context, uri string) ([]byte, error)
}

// HTTPFetcher is the default Fetcher.
type HTTPFetcher struct {
	client            *http.Client
	timeout           time.Duration
	maxBytes          int64
	allowLoopbackHTTP bool
}

// HTTPOptions configure NewHTTPFetcher; zero values take the defaults.
type HTTPOptions struct {
	// Timeout bounds one fetch, connection and body included (default 5s).
	Timeout time.Duration
	// MaxBytes bounds the body (default token.MaxJWKSBytes).
	MaxBytes int64
	// AllowLoopbackHTTP permits http:// URLs whose host is a loopback
	// address or localhost (latch dev); otherwise only https is fetched.
	AllowLoopbackHTTP bool
	// Transport replaces http.DefaultTransport (tests: a TLS server's).
	Transport http.RoundTripper
}

// NewHTTPFetcher returns a fetcher that follows no redirects.
func NewHTTPFetcher(o HTTPOptions) *HTTPFetcher {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = token.MaxJWKSBytes
	}
	return &HTTPFetcher{
		client: &http.Client{
			Transport: o.Transport,
			// No redirects: a jwks_uri names the document itself, and a
			// redirect could lead the server to an address the operator
			// never registered.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: o.Timeout, maxBytes: o.MaxBytes, allowLoopbackHTTP: o.AllowLoopbackHTTP,
	}
}

// Fetch GETs uri and returns its body: status 200 only, at most MaxBytes.
func (f *HTTPFetcher) Fetch(ctx context.Context, uri string) ([]byte, error) {
	if err := registration.CheckJWKSURI(uri, f.allowLoopbackHTTP); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: status %d (redirects are not followed)", uri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", uri, err)
	}
	if int64(len(body)) > f.maxBytes {
		return nil, fmt.Errorf("fetching %s: the document is larger than %d bytes", uri, f.maxBytes)
	}
	return body, nil
}
