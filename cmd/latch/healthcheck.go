package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/config"
)

var healthcheckHelp = cmdHelp{
	name:     "healthcheck",
	synopsis: "[--url URL | --admin-addr HOST:PORT] [--timeout D]",
	text: `Probes a running Latch and exits 0 when it is ready, 1 otherwise, printing
one line either way. By default it asks GET /readyz on the admin listener
named by --admin-addr, LATCH_ADMIN_ADDR or the --config file (default
127.0.0.1:9090); a wildcard host (":9090", "0.0.0.0:9090") is probed on
the loopback address. --url probes any URL instead (e.g. the public
http://127.0.0.1:8080/.well-known/openid-configuration when the admin
listener is disabled): any 2xx answer is healthy. Redirects are not
followed and proxy settings are ignored. Usable as a container health check
(the Dockerfile's HEALTHCHECK runs it).`,
}

func runHealthcheck(ctx context.Context, e *env, args []string) error {
	h := healthcheckHelp
	fs := newFlagSet(h.name)
	var (
		target  string
		timeout time.Duration
	)
	fs.StringVar(&target, "url", "", "probe this http(s) `URL` instead of the admin listener's /readyz")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "give up after this `duration`")
	var adminAddr, configFile string
	fs.StringVar(&adminAddr, "admin-addr", "", "the admin listener's `host:port` (default $LATCH_ADMIN_ADDR, the config file's admin-addr, or "+config.Default().AdminAddr+")")
	fs.StringVar(&configFile, config.ConfigFlag, "", "YAML configuration `file` to read admin-addr from (default $"+config.ConfigEnv+")")
	pos, err := parseFlags(e, fs, h, args)
	if err != nil {
		return err
	}
	if err := wantArgs(h, pos); err != nil {
		return err
	}
	if timeout <= 0 {
		return usageErrorf("healthcheck: --timeout must be positive")
	}
	set := setFlags(fs)
	if target == "" {
		// admin-addr as latch serve would read it: flag, environment,
		// config file, default.
		var cargs []string
		if set[config.ConfigFlag] {
			cargs = append(cargs, "--"+config.ConfigFlag+"="+configFile)
		}
		if set["admin-addr"] {
			cargs = append(cargs, "--admin-addr="+adminAddr)
		}
		lfs := flag.NewFlagSet("latch", flag.ContinueOnError)
		lfs.SetOutput(io.Discard)
		cfg, _, err := config.Load(config.Default(), lfs, cargs, e.getenv)
		if err != nil {
			return fmt.Errorf("healthcheck: configuration: %w", err)
		}
		if target, err = readyzURL(cfg.AdminAddr); err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
	} else if set["admin-addr"] {
		return usageErrorf("healthcheck: give --url or --admin-addr, not both")
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("healthcheck: --url %q is not an http(s) URL", target)
	}
	status, detail, err := probe(ctx, u.String(), timeout)
	if err != nil {
		return fmt.Errorf("healthcheck: %s: %w", u.Redacted(), err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("healthcheck: %s: %d %s%s", u.Redacted(), status, http.StatusText(status), detail)
	}
	fmt.Fprintf(e.stdout, "ok: %s: %d %s%s\n", u.Redacted(), status, http.StatusText(status), detail)
	return nil
}

// readyzURL is the readiness probe of the admin listener at addr. A
// wildcard or empty host is probed on 127.0.0.1 (the probe runs next to
// the server, e.g. inside its container).
func readyzURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("the admin listener is disabled (admin-addr is empty): give --url, e.g. --url http://127.0.0.1:8080/.well-known/openid-configuration")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("admin-addr %q is not host:port", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// probe GETs target once and returns the status code and, for a JSON
// answer like /readyz's {"status":…,"reason":…}, a short " (status:
// reason)" detail. Connection errors are explained in one line.
func probe(ctx context.Context, target string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, "", err
	}
	client := &http.Client{
		// Proxy settings are ignored: the probe is for this machine.
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return 0, "", fmt.Errorf("no answer within %s", timeout)
		case errors.As(err, &op) && op.Op == "dial":
			return 0, "", fmt.Errorf("cannot connect (%v): is Latch running, and is this its address?", op.Err)
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	var body struct{ Status, Reason string }
	detail := ""
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") &&
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body) == nil && body.Status != "" {
		detail = " (" + body.Status
		if body.Reason != "" {
			detail += ": " + body.Reason
		}
		detail += ")"
	}
	return resp.StatusCode, detail, nil
}
