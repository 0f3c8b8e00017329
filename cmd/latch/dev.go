package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/playground"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

var devHelp = cmdHelp{
	name:     "dev",
	synopsis: "[flags]",
	text: `Run Latch for development on http://localhost:8080 with an SQLite database in
./.latch, a demo user and demo clients (created on first start, reused after).
The key-encryption secret is generated into ./.latch/secret. It also serves
the example SPA on http://localhost:3000, registered for the demo-spa client
to call the example API at http://localhost:3001, which runs on its own
(go run ./examples/api/cmd/api, or scripts/demo for both), and the example
backend-for-frontend on http://localhost:3002 as the confidential client
demo-web, proxying /api/ to that API; --examples=false leaves both out. The issuer follows --addr (--addr localhost:8090 serves
http://localhost:8090; port 0 picks a free one); an explicit --issuer must
name the same port. Logs show warnings and errors only (--log-level info
adds every request). Never use dev mode in production: it prints
credentials and relaxes nothing else.`,
}

// Demo data of `latch dev`.
const (
	demoUser     = "demo"
	demoPassword = "demo-password"
	demoAPI      = "http://localhost:3001"
	demoSPA      = "http://localhost:3000"
	demoBFF      = "http://localhost:3002"
)

func devDefaults() config.Config {
	cfg := config.Default()
	cfg.Addr = "localhost:8080"
	cfg.Issuer = "http://localhost:8080" // follows --addr unless given, see runDev
	cfg.LogFormat = "text"
	// Warnings and errors only, so the banner is not buried under the
	// configuration and request logs; --log-level info shows them.
	cfg.LogLevel = "warn"
	// Any MCP client or CLI can sign in with its client ID metadata
	// document (docs/mcp.md); latch serve defaults to off.
	cfg.CIMDPolicy = "allow-all"
	cfg.Dev = true
	return cfg
}

func runDev(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("dev")
	exFlags := addExampleFlags(fs)
	cfg, rest, err := config.Load(devDefaults(), fs, args, e.getenv)
	if errors.Is(err, flag.ErrHelp) {
		printCmdHelp(e.stdout, fs, devHelp)
		return flag.ErrHelp
	}
	if err != nil {
		return flagError("dev", fs, err)
	}
	warnSecretFlags(e, fs)
	if len(rest) > 0 {
		return usageErrorf("dev: unexpected argument %q", rest[0])
	}
	cfg.Dev = true
	// The issuer follows --addr unless it was given (RFC 8414 §2: every
	// URL Latch emits derives from it, so a mismatch sends browsers to a
	// port nobody listens on). Listening now also gives port 0 its real
	// port and reports a busy port before anything is created.
	var ln net.Listener
	if cfg.Issuer == devDefaults().Issuer {
		var issuer string
		if ln, issuer, err = listenLocal(cfg.Addr); err != nil {
			return listenError("addr", cfg.Addr, err)
		}
		defer ln.Close() // serve closes it too; a second Close is harmless
		cfg.Addr, cfg.Issuer = ln.Addr().String(), issuer
	} else if msg := issuerPortMismatch(cfg.Issuer, cfg.Addr); msg != "" {
		return usageErrorf("dev: %s", msg)
	}
	firstStart := false
	if path, ok := sqlitePath(cfg.DB); ok && path != "" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			firstStart = true
			fmt.Fprintf(e.stdout, "First start: creating %s (SQLite database), a key-encryption secret next to it, "+
				"a signing key, the demo user and the demo clients. Later starts reuse them; delete %s to start over.\n",
				path, filepath.Dir(path))
		}
	}
	if cfg.KeyEncryptionSecret == "" {
		if cfg.KeyEncryptionSecret, err = devSecret(cfg.DB); err != nil {
			return err
		}
	}
	if err := config.Err(cfg.Validate()); err != nil {
		return err
	}
	urls := demoURLs{spa: demoSPA, api: demoAPI, bff: demoBFF}
	var examples *devExamples // nil with --examples=false
	if exFlags.enabled {
		if examples, err = listenExamples(cfg, exFlags); err != nil {
			return err
		}
		// Stopped after Latch, once serve returns.
		defer func() { _ = examples.stop(ctx, cfg.ShutdownTimeout) }()
		urls.spa, urls.api, urls.bff = examples.spaURL, examples.apiURL, examples.bffURL
	}
	demo, err := demoClients(cfg, urls)
	if err != nil {
		return err
	}
	hooks := serveHooks{
		listener: ln,
		seed:     func(ctx context.Context, st store.Store) error { return seedDemo(ctx, e, cfg, st, demo) },
		ready: func(addr net.Addr) {
			if examples != nil {
				if err := examples.start(ctx, cfg, newLogger(cfg, e.stderr), demoSecret(demo, "demo-web")); err != nil {
					fmt.Fprintf(e.stderr, "latch: dev: the example apps did not start: %v\n", err)
					_ = examples.stop(ctx, 0) // closes the listeners
					examples = nil
				}
			}
			printDevBanner(e, cfg, demo, examples, firstStart)
		},
		extra: map[string]http.Handler{},
	}
	// The flow playground (dev mode only) runs as the demo-spa client,
	// whose redirect URIs include <issuer>/playground/callback.
	pg, pgPath := playground.Handler(cfg.Issuer, "demo-spa"), playground.Path
	if u, err := url.Parse(cfg.Issuer); err == nil {
		pgPath = strings.TrimSuffix(u.Path, "/") + playground.Path
	}
	hooks.extra[pgPath], hooks.extra[pgPath+"/"] = pg, pg
	return serve(ctx, e, cfg, hooks)
}

// issuerPortMismatch explains why a loopback issuer cannot be right for
// the listen address addr: it names another port (browsers and clients
// would be sent there). "" when they agree, when addr's port is 0, or when
// the issuer is not loopback (a tunnel or proxy in front may map ports).
func issuerPortMismatch(issuer, addr string) string {
	u, err := url.Parse(issuer)
	if err != nil || !oauth.IsLoopbackHost(strings.ToLower(u.Hostname())) {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return ""
	}
	iport := u.Port()
	if iport == "" {
		iport = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if iport == port {
		return ""
	}
	return fmt.Sprintf("--issuer %s names port %s but --addr %s listens on port %s: "+
		"leave out --issuer (it follows --addr) or make the ports agree", issuer, iport, addr, port)
}

// listenError explains a failed listen on addr, the value of the flag
// --key: a port in use gets the flag that moves it.
func listenError(key, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		host, port, _ := net.SplitHostPort(addr)
		next := "another port"
		if n, perr := strconv.Atoi(port); perr == nil && n > 0 && n < 65535 {
			next = net.JoinHostPort(host, strconv.Itoa(n+1))
		}
		return fmt.Errorf("%s %s: the port is already in use (another Latch?): stop that program or choose another port with --%s %s (0 picks a free one)",
			key, addr, key, next)
	}
	return fmt.Errorf("%s %s: %w", key, addr, err)
}

// devSecret returns the dev key-encryption secret stored next to the
// SQLite database, creating it (mode 0600) on first start.
func devSecret(dsn string) (string, error) {
	path, ok := secretFile(dsn)
	if !ok {
		return "", errors.New("dev: a non-SQLite database needs --key-encryption-secret")
	}
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); len(s) >= seal.MinSecretLen {
			return s, nil
		}
		return "", fmt.Errorf("dev: the secret in %s is too short; delete it to start over", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	s := rand.Text() + rand.Text() // 256 bits from crypto/rand
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

// demoURLs are the origins of the example apps the demo clients are
// registered for (redirect URIs, CORS origins, API audience).
type demoURLs struct{ spa, api, bff string }

type demoClient struct {
	client store.Client
	secret string // confidential clients: derived, so it can be printed every start
	note   string
}

// demoClients are the dev clients. Confidential secrets are derived from
// the dev secret, so the same secret is printed on every start while the
// database stores only its hash.
func demoClients(cfg config.Config, urls demoURLs) ([]demoClient, error) {
	derive := func(id string) (string, error) {
		k, err := seal.DeriveKey([]byte(cfg.KeyEncryptionSecret), "demo-client-secret:"+id, 32)
		if err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(k), nil
	}
	web, err := derive("demo-web")
	if err != nil {
		return nil, err
	}
	svc, err := derive("demo-service")
	if err != nil {
		return nil, err
	}
	scopes := []string{"openid", "profile", "email", "offline_access", "messages:read"}
	return []demoClient{
		{client: store.Client{
			ID: "demo-spa", Public: true, FirstParty: true, Name: "Demo SPA",
			RedirectURIs: []string{urls.spa + "/callback", urls.spa + "/", cfg.Issuer + "/playground/callback"}, AllowedOrigins: []string{urls.spa, cfg.Issuer},
			PostLogoutRedirectURIs: []string{urls.spa + "/", cfg.Issuer + "/playground"},
			GrantTypes:             []string{"authorization_code", "refresh_token"}, Scopes: scopes,
			Audiences: []string{urls.api},
		}, note: "public SPA client (PKCE, rotating refresh tokens)"},
		{client: store.Client{
			ID: "demo-web", Name: "Demo Web App (BFF)", RedirectURIs: []string{urls.bff + "/callback"},
			PostLogoutRedirectURIs: []string{urls.bff + "/"},
			GrantTypes:             []string{"authorization_code", "refresh_token"}, Scopes: scopes,
			Audiences: []string{urls.api},
			// The example BFF's receiver (bff/logout.go): a session ended
			// at Latch ends the BFF's too. http to a loopback host is
			// delivered in dev mode only (OpenID Connect Back-Channel
			// Logout 1.0 §2.2; server/backchannel.go).
			BackchannelLogoutURI: urls.bff + "/backchannel-logout",
		}, secret: web, note: "confidential web client (asks for consent)"},
		{client: store.Client{
			ID: "demo-native", Public: true, FirstParty: true, Name: "Demo Native App",
			RedirectURIs: []string{"http://127.0.0.1/callback"},
			GrantTypes:   []string{"authorization_code", "refresh_token", string(oauth.GrantDeviceCode)},
		}, note: "public native client (loopback redirect, any port; device grant)"},
		{client: store.Client{
			ID: "demo-service", Name: "Demo Service", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"messages:read"}, Audiences: []string{urls.api},
		}, secret: svc, note: "confidential machine client (client_credentials)"},
	}, nil
}

// seedDemo creates the demo user and clients when absent.
func seedDemo(ctx context.Context, e *env, cfg config.Config, st store.Store, demo []demoClient) error {
	now := e.now()
	if _, err := st.GetUserByUsername(ctx, demoUser); errors.Is(err, store.ErrNotFound) {
		hash, err := password.Hash(demoPassword, password.Params{Memory: cfg.PasswordMemoryKiB, Iterations: cfg.PasswordIterations, Parallelism: 1})
		if err != nil {
			return err
		}
		u := store.User{ID: registration.NewUserID(), Username: demoUser, Email: "demo@example.com", EmailVerified: true, Name: "Demo User", PasswordHash: hash, CreatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
	} else if err != nil {
		return err
	}
	for _, d := range demo {
		c := d.client
		c.CreatedAt = now
		if d.secret != "" {
			c.SecretHash = token.Hash(d.secret)
		}
		err := st.CreateClient(ctx, c)
		if errors.Is(err, store.ErrAlreadyExists) {
			err = syncDemoURLs(ctx, st, c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// syncDemoURLs points an existing demo client at this run's URLs (the
// example apps' addresses may differ from the last run), leaving every
// other setting as it is.
func syncDemoURLs(ctx context.Context, st store.Store, want store.Client) error {
	c, err := st.GetClient(ctx, want.ID)
	if err != nil {
		return err
	}
	if slices.Equal(c.RedirectURIs, want.RedirectURIs) && slices.Equal(c.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) &&
		slices.Equal(c.AllowedOrigins, want.AllowedOrigins) && slices.Equal(c.Audiences, want.Audiences) &&
		c.BackchannelLogoutURI == want.BackchannelLogoutURI {
		return nil
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = want.RedirectURIs, want.PostLogoutRedirectURIs
	c.AllowedOrigins, c.Audiences = want.AllowedOrigins, want.Audiences
	c.BackchannelLogoutURI = want.BackchannelLogoutURI
	return st.UpdateClient(ctx, c)
}

func printDevBanner(e *env, cfg config.Config, demo []demoClient, examples *devExamples, firstStart bool) {
	w := e.stdout
	if firstStart {
		fmt.Fprintf(w, "\nLatch is running in dev mode (first start: database, secret, key and demo data created).\n\n")
	} else {
		fmt.Fprintf(w, "\nLatch is running in dev mode.\n\n")
	}
	fmt.Fprintf(w, "  issuer     %s\n", cfg.Issuer)
	fmt.Fprintf(w, "  discovery  %s/.well-known/openid-configuration\n", cfg.Issuer)
	fmt.Fprintf(w, "  playground %s%s\n", cfg.Issuer, playground.Path)
	if examples != nil {
		fmt.Fprintf(w, "  spa        %s        (examples/spa)\n", examples.spaURL)
		fmt.Fprintf(w, "  bff        %s        (examples/bff, the confidential client demo-web; /api/ proxied to the API)\n", examples.bffURL)
		fmt.Fprintf(w, "  api        %s/api/messages (examples/api, its own process; start it with:)\n", examples.apiURL)
		fmt.Fprintf(w, "             go run ./examples/api/cmd/api --issuer %s --audience %s --addr %s --origin %s\n",
			cfg.Issuer, examples.apiURL, apiListenAddr(examples.apiURL), examples.spaURL)
	}
	fmt.Fprintf(w, "  user       %s / %s\n", demoUser, demoPassword)
	// A passkey-only account: the CLI prints its one-time registration
	// link (docs/authentication.md#passkeys).
	fmt.Fprintf(w, "  passkey    LATCH_ISSUER=%s latch user create --db %s --passkey-only --username NAME\n\n", cfg.Issuer, cfg.DB)
	fmt.Fprintf(w, "  clients\n")
	for _, d := range demo {
		fmt.Fprintf(w, "    %-13s %s\n", d.client.ID, d.note)
		if len(d.client.RedirectURIs) > 0 {
			fmt.Fprintf(w, "    %-13s redirect %s\n", "", d.client.RedirectURIs[0])
		}
		if d.secret != "" {
			fmt.Fprintf(w, "    %-13s secret   %s\n", "", d.secret)
		}
	}
	fmt.Fprintln(w)
	if quiet := map[string]string{"warn": "warnings and errors", "error": "errors"}[cfg.LogLevel]; quiet != "" {
		fmt.Fprintf(w, "Logs: %s only; --log-level info shows every request.\n", quiet)
	}
	if examples != nil {
		fmt.Fprintf(w, "Open %s to sign in (%s / %s).\n\n", examples.spaURL, demoUser, demoPassword)
	} else if cfg.LogLevel == "warn" || cfg.LogLevel == "error" {
		fmt.Fprintln(w)
	}
}

// demoSecret is the secret of the demo client id ("" if none).
func demoSecret(demo []demoClient, id string) string {
	for _, d := range demo {
		if d.client.ID == id {
			return d.secret
		}
	}
	return ""
}

// apiListenAddr is the host:port the example API listens on to be reached
// at apiURL (an origin, checked by listenExamples).
func apiListenAddr(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return apiURL
	}
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
