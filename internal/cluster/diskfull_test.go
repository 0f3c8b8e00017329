//go:build linux

package cluster

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	_ "modernc.org/sqlite" // the integrity check after the test
)

// TestDiskFull runs `latch serve` on an SQLite file in a small tmpfs, then
// fills the filesystem to the last byte. Writes must fail cleanly (503 +
// Retry-After, the cause logged), reads that need no write must still be
// answered, and once space is freed Latch must carry on without a restart,
// with nothing lost or corrupted: the refresh token whose rotation failed
// is still the current one, and SQLite's integrity check passes.
//
// Mounting needs root: skipped otherwise, but under CI=true (where the
// tests run as root) a failed mount fails the test.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "8m")
	d := newDeployment(t, "sqlite:"+filepath.Join(dir, "latch.db"))
	d.seed()
	in := d.start("A")
	ag := newAgent()
	in.ready(ag)
	ctx := t.Context()
	v := oauth2.GenerateVerifier()
	code := ag.signIn(t, in, in, "spa", v)
	tk, err := ag.exchange(ctx, in.URL, "spa", code, v)
	if err != nil || tk.status != http.StatusOK {
		t.Fatalf("exchange: %+v %v", tk, err)
	}

	// Empty the WAL file first: Latch's checkpointer copies the WAL back
	// into the database file moments after each write, and a later write
	// then starts the WAL over in blocks the file already has — a small
	// one succeeds on a full disk. With the file empty, every write needs
	// a new block.
	truncateWAL(t, filepath.Join(dir, "latch.db"))
	filler := fill(t, filepath.Join(dir, "filler"))

	// Writes fail with 503 + Retry-After: a refresh (rotation) and an
	// authorization request (a new code) each need a write.
	var got503 bool
	for range 5 {
		r, err := postForm(ctx, ag.api, in.URL+"/token", url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}, "client_id": {"spa"},
		}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if r.status == http.StatusOK {
			t.Fatalf("refresh on a full disk succeeded: the filesystem is not full")
		}
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || jsonErrorCode(r.body) != "temporarily_unavailable" {
			t.Fatalf("refresh on a full disk: %d %s %.200s, want 503 temporarily_unavailable with Retry-After", r.status, r.header, r.body)
		}
		got503 = true
	}
	page, err := get(ctx, ag.browser, authorizeURL(in.URL, "spa", oauth2.GenerateVerifier(), "prompt", "none"))
	if err != nil || page.status != http.StatusServiceUnavailable || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Errorf("authorization request on a full disk: %d %s (%v), want Latch's 503 error page", page.status, page.header.Get("Content-Type"), err)
	}
	// The log says why.
	logged := false
	for _, rec := range in.logs.records("request failed") {
		cause, _ := rec["cause"].(string)
		if rec["error"] == "temporarily_unavailable" && strings.Contains(strings.ToLower(cause), "full") && !logged {
			logged = true
			t.Logf("logged at %v: %s", rec["level"], cause)
		}
	}
	if !logged {
		t.Errorf("no \"request failed\" record with error temporarily_unavailable and a cause naming the full disk")
	}

	// Introspection authenticates its caller, and client authentication
	// reserves the attempt in the store before the secret is checked (a
	// write; docs/security.md): on a full disk it is refused with 503
	// temporarily_unavailable, never answered wrongly.
	if r, err := postForm(ctx, ag.api, in.URL+"/introspect", url.Values{"token": {tk.AccessToken}}, "api", d.apiSecret); err != nil || (r.status != http.StatusOK && (r.status != http.StatusServiceUnavailable || jsonErrorCode(r.body) != "temporarily_unavailable")) {
		t.Errorf("introspection on a full disk: %d %.200s (%v), want 200 or 503 temporarily_unavailable", r.status, r.body, err)
	}
	// Reads that need no write are still answered.
	req := newGet(ctx, in.URL+"/userinfo")
	req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	if r, err := do(ag.api, req); err != nil || r.status != http.StatusOK {
		t.Errorf("userinfo on a full disk: %d %v, want 200", r.status, err)
	}
	for _, p := range []string{"/jwks.json", "/.well-known/openid-configuration"} {
		if r, err := get(ctx, ag.api, in.URL+p); err != nil || r.status != http.StatusOK {
			t.Errorf("%s on a full disk: %d %v, want 200", p, r.status, err)
		}
	}
	t.Logf("disk full: writes answered 503 (%v), reads answered 200", got503)

	// Space comes back: the same refresh token works (its failed rotation
	// left nothing behind), without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	eventually(t, 10*time.Second, "refresh once space is freed", func() bool {
		r, err := ag.refresh(ctx, in.URL, "spa", tk.RefreshToken)
		return err == nil && r.status == http.StatusOK
	})
	t.Logf("writes succeed again %s after space was freed", time.Since(freed).Round(time.Millisecond))
	if _, err := ag.silentCode(ctx, in.URL, "spa", oauth2.GenerateVerifier()); err != nil {
		t.Errorf("authorization request once space is freed: %v", err)
	}

	in.stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", res, err)
	}
}

// truncateWAL runs a TRUNCATE checkpoint on the SQLite database at path
// from a connection of the test's own, leaving its -wal file empty.
func truncateWAL(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Latch's own checkpointer may be running one at the same moment
	// (busy): try again.
	eventually(t, 10*time.Second, "an empty WAL file", func() bool {
		var busy, frames, done int
		if err := db.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil || busy != 0 {
			t.Logf("PRAGMA wal_checkpoint(TRUNCATE) = busy %d, %v", busy, err)
			return false
		}
		fi, err := os.Stat(path + "-wal")
		return err == nil && fi.Size() == 0
	})
}

// mountTmpfs mounts a tmpfs of the given size on a fresh directory and
// unmounts it when the test ends (after everything registered later, such
// as the instances, has stopped).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("process-level test: skipped with -short")
	}
	ci := os.Getenv("CI") == "true"
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0700")
	if err != nil {
		if ci {
			t.Fatalf("mount tmpfs (CI=true, so not skipping; the tests must run as root): %v", err)
		}
		t.Skipf("mount tmpfs needs root: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file at path until the filesystem has no byte left and
// returns path.
func fill(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
	return path
}
