package cimd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// Mode is what the operator lets Latch fetch (config cimd-policy).
type Mode string

const (
	ModeOff       Mode = "off"        // client_id URLs are unknown clients
	ModeAllowAll  Mode = "allow-all"  // any public https host
	ModeAllowList Mode = "allow-list" // only the hosts in Policy.Hosts
)

// Policy says which client_id URLs may be fetched at all.
type Policy struct {
	Mode Mode
	// Hosts are the host names of allow-list, compared exactly and
	// case-insensitively (no wildcards, no ports): "mcp.example.com".
	Hosts []string
}

// Enabled reports whether any document may be fetched: discovery
// advertises client_id_metadata_document_supported exactly when it is.
func (p Policy) Enabled() bool { return p.Mode == ModeAllowAll || p.Mode == ModeAllowList }

func (p Policy) allows(host string) bool {
	switch p.Mode {
	case ModeAllowAll:
		return true
	case ModeAllowList:
		return slices.ContainsFunc(p.Hosts, func(h string) bool { return strings.EqualFold(h, host) })
	}
	return false
}

// Defaults of Options.
const (
	// DefaultMaxBytes is the largest document accepted: the draft
	// suggests 5 kilobytes (draft-ietf-oauth-client-id-metadata-document
	// §6.6, "size limit").
	DefaultMaxBytes = 5 * 1024
	DefaultTimeout  = 5 * time.Second
	DefaultMinTTL   = time.Minute
	DefaultMaxTTL   = 24 * time.Hour
	// DefaultTTL applies when the response has no Cache-Control max-age.
	DefaultTTL         = 5 * time.Minute
	DefaultNegativeTTL = time.Minute
	DefaultMaxEntries  = 10000
)

// Resolver is the DNS lookup the fetcher uses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Fetcher; zero values take the defaults above.
type Options struct {
	Policy Policy
	// Timeout bounds the whole fetch: DNS, connection, TLS, headers and
	// body (a slow body included).
	Timeout  time.Duration
	MaxBytes int64
	// A successful document is cached for its Cache-Control max-age,
	// clamped to [MinTTL, MaxTTL] (DefaultTTL without one); a failure is
	// cached for NegativeTTL. At most MaxEntries URLs are cached.
	MinTTL, MaxTTL, NegativeTTL time.Duration
	MaxEntries                  int
	Resolver                    Resolver // default net.DefaultResolver
	Now                         func() time.Time

	// InsecureTest lets tests fetch from a server on a loopback address
	// with a test CA. The configuration has no key for it: only test code
	// (internal/latchtest, package tests) sets it. Never set it in
	// production: it lifts the SSRF guard for the listed prefixes.
	InsecureTest *InsecureTest
}

// InsecureTest is the test-only relaxation of a Fetcher (Options.InsecureTest).
type InsecureTest struct {
	RootCAs *x509.CertPool // trusted instead of the system roots
	// AllowPrefixes are non-public addresses treated as public.
	AllowPrefixes []netip.Prefix
	// OnDial observes each connection about to be made (after the
	// address check, before connect): the address and whether it was
	// allowed. Attack tests assert no non-public address is ever allowed.
	OnDial func(addr netip.AddrPort, allowed bool)
}

// Error is a document that could not be used. Description is for the
// client's developer (shown on the error page and in the log); Err is the
// cause, for the log only.
type Error struct {
	Description string
	Err         error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Description + ": " + e.Err.Error()
	}
	return e.Description
}

func (e *Error) Unwrap() error { return e.Err }

func fail(format string, args ...any) *Error {
	return &Error{Description: fmt.Sprintf(format, args...)}
}

// ErrDisabled: the policy is off, or does not list the URL's host.
var ErrDisabled = errors.New("cimd: client ID metadata documents are not accepted for this host")

// notPublicError is a connection refused because of its address.
type notPublicError struct{ addr netip.Addr }

func (e *notPublicError) Error() string {
	return "cimd: " + e.addr.String() + " is not a public address"
}

// Fetcher fetches and caches client ID metadata documents. It is safe for
// concurrent use.
type Fetcher struct {
	opts   Options
	client *http.Client

	mu    sync.Mutex
	cache map[string]entry
	calls map[string]*call
}

type entry struct {
	client  store.Client
	err     error
	expires time.Time
}

// call is a fetch in flight; waiters block on done.
type call struct {
	done   chan struct{}
	client store.Client
	err    error
}

// New returns a Fetcher for opts.
func New(opts Options) *Fetcher {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Timeout, DefaultTimeout)
	def(&opts.MinTTL, DefaultMinTTL)
	def(&opts.MaxTTL, DefaultMaxTTL)
	def(&opts.NegativeTTL, DefaultNegativeTTL)
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Fetcher{opts: opts, cache: map[string]entry{}, calls: map[string]*call{}}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.InsecureTest != nil {
		tlsConf.RootCAs = opts.InsecureTest.RootCAs
	}
	f.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // never HTTPS_PROXY: a proxy would dial for us, unchecked
			DialContext:            f.dial,
			TLSClientConfig:        tlsConf,
			TLSHandshakeTimeout:    opts.Timeout,
			ResponseHeaderTimeout:  opts.Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConnsPerHost:    2,
			IdleConnTimeout:        30 * time.Second,
			ForceAttemptHTTP2:      true,
		},
		// No redirects (draft §6.6): a redirect could point anywhere, and
		// the document must be served at the client_id URL itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f
}

// Allows reports whether clientID is a valid client_id URL whose host
// the policy accepts; it fetches nothing.
func (f *Fetcher) Allows(clientID string) bool {
	host, err := CheckClientIDURL(clientID)
	return err == nil && f.opts.Policy.allows(host)
}

// Policy returns the fetcher's policy.
func (f *Fetcher) Policy() Policy { return f.opts.Policy }

// Resolve returns the public client the document at clientID describes,
// from the cache when fresh. A client_id the policy does not allow is
// ErrDisabled; any other failure an *Error. Concurrent calls for one URL
// share one fetch; its outcome, success or failure, is cached.
func (f *Fetcher) Resolve(ctx context.Context, clientID string) (store.Client, error) {
	host, err := CheckClientIDURL(clientID)
	if err != nil {
		return store.Client{}, err
	}
	if !f.opts.Policy.allows(host) {
		return store.Client{}, ErrDisabled
	}
	f.mu.Lock()
	if e, ok := f.cache[clientID]; ok && f.opts.Now().Before(e.expires) {
		f.mu.Unlock()
		return e.client, e.err
	}
	c, ok := f.calls[clientID]
	if !ok {
		c = &call{done: make(chan struct{})}
		f.calls[clientID] = c
		// The fetch outlives a caller that gives up: others may wait
		// for it, and its outcome is cached. Its own deadline bounds it.
		go f.run(context.WithoutCancel(ctx), clientID, c)
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.client, c.err
	case <-ctx.Done():
		return store.Client{}, ctx.Err()
	}
}

func (f *Fetcher) run(ctx context.Context, clientID string, c *call) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	client, ttl, err := f.fetch(ctx, clientID)
	if err != nil {
		ttl = f.opts.NegativeTTL
	}
	c.client, c.err = client, err
	f.mu.Lock()
	delete(f.calls, clientID)
	if len(f.cache) >= f.opts.MaxEntries {
		f.evict()
	}
	f.cache[clientID] = entry{client: client, err: err, expires: f.opts.Now().Add(ttl)}
	f.mu.Unlock()
	close(c.done)
}

// evict drops expired entries, and if none was, an arbitrary tenth of
// the cache, so a flood of URLs cannot grow it without bound. f.mu is held.
func (f *Fetcher) evict() {
	now := f.opts.Now()
	for k, e := range f.cache {
		if !now.Before(e.expires) {
			delete(f.cache, k)
		}
	}
	for k := range f.cache {
		if len(f.cache) < f.opts.MaxEntries*9/10 {
			break
		}
		delete(f.cache, k)
	}
}

// fetch GETs the document and validates it; ttl is how long to cache it.
func (f *Fetcher) fetch(ctx context.Context, clientID string) (store.Client, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return store.Client{}, 0, &Error{Description: "the client_id is not a fetchable URL", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return store.Client{}, 0, f.transportError(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return store.Client{}, 0, fail("the client metadata document at %s answered with a redirect (HTTP %d); redirects are not followed: serve the document at the client_id URL itself", clientID, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return store.Client{}, 0, fail("the client metadata document at %s answered HTTP %d, want 200", clientID, resp.StatusCode)
	case resp.ContentLength > f.opts.MaxBytes:
		return store.Client{}, 0, fail("the client metadata document is %d bytes, more than the %d allowed", resp.ContentLength, f.opts.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err == nil {
		// A body cut off by the deadline can read as a clean end:
		// whatever arrived after the deadline is not a document.
		err = ctx.Err()
	}
	if err != nil {
		return store.Client{}, 0, f.transportError(ctx, err)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return store.Client{}, 0, fail("the client metadata document is larger than the %d bytes allowed", f.opts.MaxBytes)
	}
	c, err := ParseDocument(clientID, body)
	if err != nil {
		return store.Client{}, 0, err
	}
	return c, f.ttl(resp.Header.Get("Cache-Control")), nil
}

func (f *Fetcher) transportError(ctx context.Context, err error) error {
	var np *notPublicError
	switch {
	case errors.As(err, &np):
		return &Error{Description: "the client_id's host resolves to a non-public address; client metadata documents are fetched from public addresses only", Err: err}
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return &Error{Description: fmt.Sprintf("the client metadata document was not received within %v", f.opts.Timeout), Err: err}
	}
	return &Error{Description: "the client metadata document could not be fetched (DNS, connection or TLS failure)", Err: err}
}

// ttl is the cache lifetime for a Cache-Control header value (RFC 9111
// §5.2.2): max-age clamped to [MinTTL, MaxTTL]; no-store, no-cache and
// max-age=0 get MinTTL (the floor keeps a hostile server from making
// Latch fetch on every request); none DefaultTTL.
func (f *Fetcher) ttl(cc string) time.Duration {
	d := DefaultTTL
	for _, dir := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return f.opts.MinTTL
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
				d = time.Duration(min(n, int64(f.opts.MaxTTL/time.Second)+1)) * time.Second
			}
		}
	}
	return min(max(d, f.opts.MinTTL), f.opts.MaxTTL)
}

// dial resolves host and refuses every name with a non-public address
// among its answers before connecting (a name that has one is hostile or
// misconfigured); the connection's own address is checked again in
// control, so nothing between resolution and connect can swap it.
func (f *Fetcher) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = f.opts.Resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("cimd: %s has no addresses", host)
	}
	for _, a := range addrs {
		if !f.allowed(a) {
			return nil, &notPublicError{a}
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Control: f.control}
	var last error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(p)).String())
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// control runs for every socket before it connects, with the address
// actually dialled: the last gate, whatever resolved it.
func (f *Fetcher) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	ok := err == nil && f.allowed(ap.Addr())
	if t := f.opts.InsecureTest; t != nil && t.OnDial != nil {
		t.OnDial(ap, ok)
	}
	if !ok {
		return &notPublicError{ap.Addr()}
	}
	return nil
}

// allowed reports whether a may be connected to: IsPublic, after
// unmapping an IPv4-mapped address (a resolver may return one for an A
// record; ::ffff:127.0.0.1 is loopback), or a test's prefix.
func (f *Fetcher) allowed(a netip.Addr) bool {
	a = a.Unmap()
	if IsPublic(a) {
		return true
	}
	if t := f.opts.InsecureTest; t != nil {
		return slices.ContainsFunc(t.AllowPrefixes, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	return false
}
