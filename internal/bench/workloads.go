package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/latchauth/latch/verify"
)

// op is one operation of a workload; a nil error is a success.
type op func(ctx context.Context) error

// Workload is one of the load patterns W1–W6.
type Workload struct {
	ID          string // "W1"
	Name        string // "client_credentials"
	Description string
	// InProcess workloads run in this process, not against the server
	// (so the server's usage is not reported for them).
	InProcess bool
	// prepare runs once before the workers: it checks the target has what
	// the workload needs and returns the per-worker setup, which runs
	// before the clock starts (sign-ins, first tokens) and returns the
	// worker's operation.
	prepare func(ctx context.Context, r *runEnv) (func(ctx context.Context, worker int) (op, error), error)
}

// runEnv is what a workload's setup may use.
type runEnv struct {
	t  *Target
	rt http.RoundTripper
	// signIns makes the workers sign in one at a time before the clock
	// starts: concurrent sign-ins of one user from one address would be
	// taken for guessing (Latch answers 503 while its throttle budget is
	// full of attempts in flight).
	signIns *sync.Mutex
}

// Workloads lists every workload in order. W6 and W6C run in this
// process; the others speak HTTP to the target.
func Workloads() []Workload {
	return []Workload{
		{ID: "W1", Name: "client_credentials", Description: "client_credentials grant, client_secret_basic", prepare: prepareW1},
		{ID: "W2", Name: "code+pkce flow", Description: "GET authorize with an SSO session → 302 with code → POST token with the PKCE verifier → check the tokens", prepare: prepareW2},
		{ID: "W3", Name: "refresh rotation", Description: "refresh_token grant with rotation; each worker always presents its newest token", prepare: prepareW3},
		{ID: "W4", Name: "introspection", Description: "introspection (RFC 7662) of a valid user access token by a confidential client", prepare: prepareW4},
		{ID: "W5", Name: "password login", Description: "GET authorize without a session → POST the login form (argon2id) → 302 with code", prepare: prepareW5},
		{ID: "W6", Name: "verify (no cache)", Description: "the verify middleware validating an access token in-process, token cache off (a signature check every time)", prepare: prepareW6(false), InProcess: true},
		{ID: "W6C", Name: "verify (cached)", Description: "the verify middleware validating the same access token in-process, served from its bounded cache", prepare: prepareW6(true), InProcess: true},
	}
}

// SelectWorkloads returns the workloads named by ids (case-insensitive,
// e.g. "W1", "w2"), in the order given; "all" selects every one.
func SelectWorkloads(ids []string) ([]Workload, error) {
	all := Workloads()
	var out []Workload
	for _, id := range ids {
		if strings.EqualFold(id, "all") {
			return all, nil
		}
		i := slices.IndexFunc(all, func(w Workload) bool { return strings.EqualFold(w.ID, id) })
		if i < 0 {
			names := make([]string, len(all))
			for j, w := range all {
				names[j] = w.ID
			}
			return nil, fmt.Errorf("unknown workload %q (want %s or all)", id, strings.Join(names, ", "))
		}
		if !slices.ContainsFunc(out, func(w Workload) bool { return w.ID == all[i].ID }) {
			out = append(out, all[i])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no workload selected")
	}
	return out, nil
}

func needConfidential(t *Target) error {
	if t.ClientID == "" || t.ClientSecret == "" {
		return errors.New("needs a confidential client (--client-id, --client-secret)")
	}
	return nil
}

func needCodeFlow(t *Target) error {
	if t.PublicClientID == "" || t.RedirectURI == "" || t.Username == "" || t.Password == "" {
		return errors.New("needs a public client, its redirect URI and a user (--public-client-id, --redirect-uri, --username, --password)")
	}
	return nil
}

// W1: client_credentials (RFC 6749 §4.4).
func prepareW1(ctx context.Context, r *runEnv) (func(context.Context, int) (op, error), error) {
	if err := needConfidential(r.t); err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ int) (op, error) {
		a := newAgent(r.rt, r.t)
		return func(ctx context.Context) error {
			_, err := a.clientCredentials(ctx)
			return err
		}, nil
	}, nil
}

// signedInAgent is a worker's agent holding an SSO session, obtained
// through the login form, and the tokens of that first flow.
func signedInAgent(ctx context.Context, r *runEnv) (*agent, *tokenResponse, error) {
	a := newAgent(r.rt, r.t)
	ar := r.t.newAuthRequest()
	if r.signIns != nil {
		r.signIns.Lock()
	}
	code, err := a.signIn(ctx, ar)
	if r.signIns != nil {
		r.signIns.Unlock()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("signing in: %w", err)
	}
	tr, err := a.exchange(ctx, ar, code, false)
	if err != nil {
		return nil, nil, fmt.Errorf("first code exchange: %w", err)
	}
	return a, tr, nil
}

// W2: the full Authorization Code + PKCE flow for a signed-in user.
func prepareW2(ctx context.Context, r *runEnv) (func(context.Context, int) (op, error), error) {
	if err := needCodeFlow(r.t); err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ int) (op, error) {
		a, _, err := signedInAgent(ctx, r)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			ar := r.t.newAuthRequest()
			code, err := a.authorizeWithSession(ctx, ar)
			if err != nil {
				return err
			}
			_, err = a.exchange(ctx, ar, code, false)
			return err
		}, nil
	}, nil
}

// W3: refresh with rotation; the worker's chain starts from a code flow.
func prepareW3(ctx context.Context, r *runEnv) (func(context.Context, int) (op, error), error) {
	if err := needCodeFlow(r.t); err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ int) (op, error) {
		a, tr, err := signedInAgent(ctx, r)
		if err != nil {
			return nil, err
		}
		if tr.RefreshToken == "" {
			return nil, errors.New("the code flow returned no refresh token (is the public client allowed the refresh_token grant?)")
		}
		newest := tr.RefreshToken
		return func(ctx context.Context) error {
			tr, err := a.refresh(ctx, newest)
			if err != nil {
				return err
			}
			newest = tr.RefreshToken
			return nil
		}, nil
	}, nil
}

// W4: introspection of a user's access token (each worker its own).
func prepareW4(ctx context.Context, r *runEnv) (func(context.Context, int) (op, error), error) {
	if err := needConfidential(r.t); err != nil {
		return nil, err
	}
	if r.t.IntrospectURL == "" {
		return nil, errors.New("the server advertises no introspection_endpoint")
	}
	userToken := r.t.PublicClientID != "" && needCodeFlow(r.t) == nil
	return func(ctx context.Context, _ int) (op, error) {
		a := newAgent(r.rt, r.t)
		var tok string
		if userToken {
			_, tr, err := signedInAgent(ctx, r)
			if err != nil {
				return nil, err
			}
			tok = tr.AccessToken
		} else {
			tr, err := a.clientCredentials(ctx)
			if err != nil {
				return nil, err
			}
			tok = tr.AccessToken
		}
		return func(ctx context.Context) error { return a.introspect(ctx, tok) }, nil
	}, nil
}

// W5: a password login: authorize without a session, submit the login
// form, get the code. Each operation starts with an empty cookie jar.
func prepareW5(ctx context.Context, r *runEnv) (func(context.Context, int) (op, error), error) {
	if err := needCodeFlow(r.t); err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ int) (op, error) {
		return func(ctx context.Context) error {
			a := newAgent(r.rt, r.t)
			_, err := a.signIn(ctx, r.t.newAuthRequest())
			return err
		}, nil
	}, nil
}

// W6: the verify package's middleware in this process, on an access token
// issued by the target (client_credentials); the key set is fetched once
// from the target's jwks_uri before the clock starts.
func prepareW6(cached bool) func(context.Context, *runEnv) (func(context.Context, int) (op, error), error) {
	return func(ctx context.Context, r *runEnv) (func(context.Context, int) (op, error), error) {
		if err := needConfidential(r.t); err != nil {
			return nil, err
		}
		tr, err := newAgent(r.rt, r.t).clientCredentials(ctx)
		if err != nil {
			return nil, err
		}
		aud, err := jwtAudience(tr.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("the access tokens are not JWTs (%v): W6 needs a JWT access token", err)
		}
		cfg := verify.Config{
			Issuer: r.t.Issuer, Audience: aud, JWKSURL: r.t.JWKSURL,
			HTTPClient: &http.Client{Transport: r.rt}, CacheSize: -1,
		}
		if cached {
			cfg.CacheSize = 0 // the default bounded cache
		}
		v, err := verify.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		h := v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := verify.FromContext(r.Context()); !ok {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		// One check outside the clock, so a key-fetch or audience problem
		// is a setup error rather than a run of failures.
		if _, err := v.Verify(ctx, tr.AccessToken); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		return func(ctx context.Context, _ int) (op, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.bench.test/resource", nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			w := &statusWriter{h: http.Header{}}
			return func(ctx context.Context) error {
				w.status = 0
				h.ServeHTTP(w, req)
				if w.status != 0 && w.status != http.StatusOK {
					return fmt.Errorf("verify middleware answered %d: %s", w.status, w.h.Get("WWW-Authenticate"))
				}
				return nil
			}, nil
		}, nil
	}
}

// statusWriter is the cheapest http.ResponseWriter that remembers the
// status (W6 must measure the middleware, not a recorder).
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// jwtAudience returns the first aud of a JWT (unverified: only to
// configure the verifier, which then checks it).
func jwtAudience(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil && one != "" {
		return one, nil
	}
	var many []string
	if json.Unmarshal(c.Aud, &many) == nil && len(many) > 0 {
		return many[0], nil
	}
	return "", errors.New("no aud claim")
}
