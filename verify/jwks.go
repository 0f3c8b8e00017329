package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// maxDocumentSize bounds discovery and JWKS response bodies.
	maxDocumentSize = 1 << 20
	// keySetMaxAge: a key set older than this is refetched in the
	// background on the next verification, so a key the issuer withdrew
	// stops being trusted even if no new kid shows up.
	keySetMaxAge = time.Hour
)

// keySet is an immutable snapshot of the issuer's signature keys.
type keySet struct {
	byKID   map[string][]jose.JSONWebKey
	fetched time.Time // when the fetch that produced it started
}

// fetchCall is one in-flight fetch that concurrent callers share.
type fetchCall struct {
	done chan struct{} // closed when the fetch ends
	err  error         // set before done is closed
}

// remoteKeys is the issuer's JWKS, fetched on demand.
//
// Invariants: at most one fetch runs at a time (inflight), and a fetch
// starts only if the previous one started at least minInterval ago
// (lastAttempt), so no pattern of tokens can make it fetch more often.
// Readers take the current snapshot without locking.
type remoteKeys struct {
	client      *http.Client
	issuer      string
	jwksURL     string // configured; "" means discover
	minInterval time.Duration
	now         func() time.Time
	logger      *slog.Logger
	allowHTTP   bool

	current atomic.Pointer[keySet]

	mu          sync.Mutex
	lastAttempt time.Time  // guarded by mu; zero before the first counted fetch
	inflight    *fetchCall // guarded by mu
	discovered  string     // guarded by mu; jwks_uri found by discovery
}

// warmUp fetches the keys once, synchronously within ctx. A failed
// warm-up does not count against the refresh rate limit, so the first
// Verify after the issuer comes up can fetch at once.
func (r *remoteKeys) warmUp(ctx context.Context) error {
	r.mu.Lock()
	if r.inflight != nil {
		r.mu.Unlock()
		return nil
	}
	call := &fetchCall{done: make(chan struct{})}
	r.inflight = call
	r.mu.Unlock()

	start := r.now()
	err := r.fetchAndStore(ctx)

	r.mu.Lock()
	if err == nil {
		r.lastAttempt = start
	}
	r.inflight = nil
	call.err = err
	close(call.done)
	r.mu.Unlock()
	return err
}

// lookup returns the keys with the given kid usable with alg. If the kid
// is unknown it triggers (or joins) a refetch, subject to the rate limit,
// and waits for it within ctx.
func (r *remoteKeys) lookup(ctx context.Context, kid, alg string) ([]jose.JSONWebKey, error) {
	// The snapshot is taken before a background refresh can start, so the
	// current keys serve this call even when the refresh finishes first.
	set := r.current.Load()
	if set != nil && r.now().Sub(set.fetched) >= keySetMaxAge {
		r.startFetch(ctx) // background refresh; the current keys serve meanwhile
	}
	if ks := set.find(kid, alg); len(ks) > 0 {
		return ks, nil
	}
	call := r.startFetch(ctx)
	if call == nil {
		return nil, fmt.Errorf("%w: kid %q (key set refreshed less than %v ago)", ErrUnknownKey, kid, r.minInterval)
	}
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: kid %q: %w", ErrUnknownKey, kid, context.Cause(ctx))
	}
	if ks := r.find(kid, alg); len(ks) > 0 {
		return ks, nil
	}
	if call.err != nil {
		return nil, fmt.Errorf("%w: kid %q: fetching keys: %w", ErrUnknownKey, kid, call.err)
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// find returns the current keys for kid whose alg (if published) is alg.
func (r *remoteKeys) find(kid, alg string) []jose.JSONWebKey {
	return r.current.Load().find(kid, alg)
}

// find returns set's keys for kid whose alg (if published) is alg; none
// for a nil set.
func (set *keySet) find(kid, alg string) []jose.JSONWebKey {
	if set == nil {
		return nil
	}
	var out []jose.JSONWebKey
	for _, k := range set.byKID[kid] {
		// A key published with an alg may only be used with that alg
		// (RFC 7517 §4.4).
		if k.Algorithm == "" || k.Algorithm == alg {
			out = append(out, k)
		}
	}
	return out
}

// startFetch returns the in-flight fetch, or starts one if the rate
// limit allows, or returns nil. The fetch runs in its own goroutine with
// ctx's values but not its cancellation (one caller giving up must not
// fail the others), bounded by fetchTimeout.
func (r *remoteKeys) startFetch(ctx context.Context) *fetchCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight != nil {
		return r.inflight
	}
	now := r.now()
	if !r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.minInterval {
		return nil
	}
	r.lastAttempt = now
	call := &fetchCall{done: make(chan struct{})}
	r.inflight = call
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		err := r.fetchAndStore(fctx)
		if err != nil {
			r.logger.WarnContext(fctx, "verify: fetching the issuer's keys failed", "issuer", r.issuer, "err", err)
		}
		r.mu.Lock()
		r.inflight = nil
		call.err = err
		close(call.done)
		r.mu.Unlock()
	}()
	return call
}

// fetchAndStore discovers the JWKS URL if needed, fetches the key set and
// replaces the current snapshot. On error the old snapshot stays.
func (r *remoteKeys) fetchAndStore(ctx context.Context) error {
	start := r.now()
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	u, err := r.resolveJWKSURL(ctx)
	if err != nil {
		return err
	}
	body, err := r.get(ctx, u)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	set, skipped, err := parseKeySet(body)
	if err != nil {
		return fmt.Errorf("jwks %s: %w", u, err)
	}
	if skipped > 0 {
		r.logger.DebugContext(ctx, "verify: ignored unusable keys in the JWKS", "skipped", skipped)
	}
	set.fetched = start
	r.current.Store(set)
	return nil
}

// resolveJWKSURL returns Config.JWKSURL or the jwks_uri from discovery,
// remembered after the first success.
func (r *remoteKeys) resolveJWKSURL(ctx context.Context) (string, error) {
	if r.jwksURL != "" {
		return r.jwksURL, nil
	}
	r.mu.Lock()
	d := r.discovered
	r.mu.Unlock()
	if d != "" {
		return d, nil
	}
	d, err := r.discover(ctx)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.discovered = d
	r.mu.Unlock()
	return d, nil
}

// discover reads jwks_uri from the issuer's metadata: OpenID Connect
// Discovery §4 first, then RFC 8414 §3. The document's issuer must equal
// ours (OIDC Discovery §4.3, RFC 8414 §3.3).
func (r *remoteKeys) discover(ctx context.Context) (string, error) {
	var errs []error
	for _, u := range wellKnownURLs(r.issuer) {
		body, err := r.get(ctx, u)
		if err != nil {
			errs = append(errs, fmt.Errorf("discovery: %w", err))
			continue
		}
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &meta); err != nil {
			errs = append(errs, fmt.Errorf("discovery %s: %w", u, err))
			continue
		}
		if meta.Issuer != r.issuer {
			return "", fmt.Errorf("discovery %s: issuer %q does not match %q", u, meta.Issuer, r.issuer)
		}
		if meta.JWKSURI == "" {
			return "", fmt.Errorf("discovery %s: no jwks_uri", u)
		}
		if err := checkURL("jwks_uri", meta.JWKSURI, r.allowHTTP || strings.HasPrefix(r.issuer, "http:")); err != nil {
			return "", err
		}
		return meta.JWKSURI, nil
	}
	return "", errors.Join(errs...)
}

// wellKnownURLs returns the metadata URLs for issuer: OIDC appends the
// well-known path to the issuer (OIDC Discovery §4), RFC 8414 §3 inserts
// it between host and path.
func wellKnownURLs(issuer string) []string {
	oidc := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	u, err := url.Parse(issuer)
	if err != nil {
		return []string{oidc}
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	u.Path, u.RawPath = "", ""
	oauth := u.String() + "/.well-known/oauth-authorization-server" + path
	return []string{oidc, oauth}
}

// get fetches u and returns the body of a 200 response, at most
// maxDocumentSize bytes.
func (r *remoteKeys) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentSize))
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocumentSize {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", u, maxDocumentSize)
	}
	return body, nil
}

// parseKeySet parses a JWKS (RFC 7517 §5) one key at a time, so that a key
// of a type this go-jose does not know does not hide the others. It keeps
// public signature keys with a kid; it returns how many it skipped, and an
// error if none is usable.
func parseKeySet(body []byte) (*keySet, int, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, err
	}
	set := &keySet{byKID: make(map[string][]jose.JSONWebKey, len(doc.Keys))}
	skipped := 0
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			skipped++
			continue
		}
		// Only public asymmetric keys: a symmetric ("oct") key would let
		// an HMAC token verify, and a private key has no business here.
		if k.KeyID == "" || !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			skipped++
			continue
		}
		set.byKID[k.KeyID] = append(set.byKID[k.KeyID], k)
	}
	if len(set.byKID) == 0 {
		return nil, skipped, errors.New("no usable signature keys")
	}
	return set, skipped, nil
}
