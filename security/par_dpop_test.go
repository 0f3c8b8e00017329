package security

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// DPoP at the PAR endpoint (RFC 9449 §10.1): the threats are a code
// pushed with a DPoP proof and then redeemed by whoever steals it (with
// another key or as Bearer), a push whose dpop_jkt names a key other than
// the proof's, and a forged, misdirected, stale or replayed proof that
// still gets a request stored — alone or in a burst of concurrent pushes
// sharing one proof, on SQLite and PostgreSQL (the jti replay set is in
// the store).

// pushCounter is a real store that counts the pushed requests it stored.
type pushCounter struct {
	store.Store
	pushed atomic.Int32
}

func (s *pushCounter) CreatePushedRequest(ctx context.Context, p store.PushedRequest) error {
	err := s.Store.CreatePushedRequest(ctx, p)
	if err == nil {
		s.pushed.Add(1)
	}
	return err
}

// startCounting is start on backend be, whose store counts pushes.
func startCounting(t *testing.T, be backend) (*latchtest.Env, *pushCounter) {
	t.Helper()
	var st store.Store
	if be.open != nil {
		st = be.open(t)
	} else {
		sq, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		t.Cleanup(func() { sq.Close() })
		st = sq
	}
	c := &pushCounter{Store: st}
	return startBackend(t, backend{be.name, func(testing.TB) store.Store { return c }}), c
}

// pushDPoP pushes spa's authorization request q with the DPoP proof (none
// when empty).
func pushDPoP(e *latchtest.Env, q url.Values, proof string) (*http.Response, map[string]any) {
	return e.PostFormDPoP("/par", q, proof)
}

// accessTokenJKT is the cnf.jkt of a Latch access token, verified with
// Latch's JWKS.
func accessTokenJKT(t *testing.T, e *latchtest.Env, at string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(at, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA})
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	var claims struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := tok.Claims(jwks(t, e), &claims); err != nil {
		t.Fatalf("access token claims: %v", err)
	}
	return claims.Cnf.JKT
}

// TestPARDPoPStolenCode: a request pushed with a DPoP proof and no
// dpop_jkt binds its code to the proof's key (RFC 9449 §10.1): the code
// is redeemed only with a proof by that key, and the token is DPoP-bound
// to it. A push without a DPoP header is unchanged: its code is redeemed
// without a proof, as a Bearer token.
func TestPARDPoPStolenCode(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := startBackend(t, be)
			owner, thief := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.ES256)
			b := e.Browser()
			issue := func(proof string) (string, string) {
				t.Helper()
				v := rand43()
				resp, body := pushDPoP(e, authParams("spa", latchtest.SPARedirect, v), proof)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("PAR: %d %v", resp.StatusCode, body)
				}
				uri, _ := body["request_uri"].(string)
				return requireCodeRedirect(t, signIn(b, pushedURL(e, "spa", uri, nil)), latchtest.SPARedirect).Get("code"), v
			}
			for name, proof := range map[string]func() string{
				"with the thief's key":            func() string { return e.DPoPProof(thief, "POST", "/token", nil) },
				"without a proof":                 func() string { return "" },
				"with the owner's proof for /par": func() string { return e.DPoPProof(owner, "POST", "/par", nil) },
			} {
				t.Run(name, func(t *testing.T) {
					code, v := issue(e.DPoPProof(owner, "POST", "/par", nil))
					resp, body := e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, v), proof())
					if resp.StatusCode != http.StatusBadRequest || body["access_token"] != nil {
						t.Fatalf("stolen code redeemed %s: %d %v, want 400 and no token", name, resp.StatusCode, body)
					}
				})
			}
			code, v := issue(e.DPoPProof(owner, "POST", "/par", nil))
			resp, body := e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, v), e.DPoPProof(owner, "POST", "/token", nil))
			if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
				t.Fatalf("owner's redemption: %d %v, want 200 and token_type DPoP", resp.StatusCode, body)
			}
			if jkt := accessTokenJKT(t, e, body["access_token"].(string)); jkt != owner.JKT {
				t.Errorf("access token cnf.jkt = %q, want the PAR proof's key %q", jkt, owner.JKT)
			}

			// Control: without a DPoP header at /par nothing is bound.
			code, v = issue("")
			resp, body = e.PostForm("/token", exchangeForm("spa", code, latchtest.SPARedirect, v))
			if resp.StatusCode != http.StatusOK || body["token_type"] != "Bearer" {
				t.Errorf("unbound pushed code: %d %v, want 200 Bearer", resp.StatusCode, body)
			}
		})
	}
}

// TestPARDPoPKeyMismatch: a push whose dpop_jkt names another key than
// the proof's is refused (RFC 9449 §10.1: the server MUST reject it), and
// nothing is stored; with matching ones it is accepted.
func TestPARDPoPKeyMismatch(t *testing.T) {
	e, st := startCounting(t, backends[0])
	k, other := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.EdDSA)
	q := authParams("spa", latchtest.SPARedirect, rand43())
	q.Set("dpop_jkt", other.JKT)
	resp, body := pushDPoP(e, q, e.DPoPProof(k, "POST", "/par", nil))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	if body["request_uri"] != nil || st.pushed.Load() != 0 {
		t.Fatalf("mismatched push stored: %v, %d pushed", body, st.pushed.Load())
	}
	q["dpop_jkt"] = []string{k.JKT, other.JKT}
	resp, body = pushDPoP(e, q, e.DPoPProof(k, "POST", "/par", nil))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	q.Set("dpop_jkt", k.JKT)
	if resp, body := pushDPoP(e, q, e.DPoPProof(k, "POST", "/par", nil)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("control: matching dpop_jkt and proof: %d %v", resp.StatusCode, body)
	}
}

// TestPARDPoPForgedProofs: a push with a proof that /token would refuse
// — for another URL or method, too old, badly signed, or replayed, also
// by a concurrent burst — is refused with invalid_dpop_proof and stores
// nothing, on both stores.
func TestPARDPoPForgedProofs(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e, st := startCounting(t, be)
			k := latchtest.NewDPoPKey(t, jose.ES256)
			used := e.DPoPProof(k, "POST", "/par", nil)
			if resp, body := pushDPoP(e, authParams("spa", latchtest.SPARedirect, rand43()), used); resp.StatusCode != http.StatusCreated {
				t.Fatalf("control: %d %v", resp.StatusCode, body)
			}
			want := st.pushed.Load()
			a, b := strings.Split(e.DPoPProof(k, "POST", "/par", nil), "."), strings.Split(e.DPoPProof(k, "POST", "/par", nil), ".")
			cases := map[string]string{
				"htu of /token":   e.DPoPProof(k, "POST", "/token", nil),
				"htm GET":         e.DPoPProof(k, "GET", "/par", nil),
				"iat an hour ago": k.Proof(t, "POST", e.Issuer+"/par", e.Clock.Now().Add(-time.Hour), nil),
				"bad signature":   a[0] + "." + a[1] + "." + b[2],
				"replayed jti":    used,
				"unsigned":        latchtest.UnsignedJWT(t, map[string]any{"typ": "dpop+jwt", "alg": "none"}, map[string]any{"jti": "x", "htm": "POST", "htu": e.Issuer + "/par", "iat": e.Clock.Now().Unix()}),
			}
			for name, proof := range cases {
				t.Run(name, func(t *testing.T) {
					resp, body := pushDPoP(e, authParams("spa", latchtest.SPARedirect, rand43()), proof)
					requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
					if body["request_uri"] != nil {
						t.Errorf("refused push answered %v", body)
					}
				})
			}
			if got := st.pushed.Load(); got != want {
				t.Errorf("%d requests stored by refused pushes", got-want)
			}

			// One fresh proof sent by 8 pushes at once: exactly one is
			// stored (store.UseOnce on the jti is atomic).
			const n = 8
			proof := e.DPoPProof(k, "POST", "/par", nil)
			var won, refused atomic.Int32
			var wg sync.WaitGroup
			startc := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-startc
					resp, body := pushDPoP(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()), proof)
					switch {
					case resp.StatusCode == http.StatusCreated:
						won.Add(1)
					case resp.StatusCode == http.StatusBadRequest && body["error"] == "invalid_dpop_proof":
						refused.Add(1)
					default:
						t.Errorf("burst push: %d %v", resp.StatusCode, body)
					}
				})
			}
			close(startc)
			wg.Wait()
			if won.Load() != 1 || refused.Load() != n-1 || st.pushed.Load() != want+1 {
				t.Fatalf("%d pushes with one proof: %d accepted, %d refused, %d stored; want exactly 1", n, won.Load(), refused.Load(), st.pushed.Load()-want)
			}
		})
	}
}
