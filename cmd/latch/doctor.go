package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/doctor"
	"github.com/latchauth/latch/internal/store"
)

var doctorHelp = cmdHelp{
	name:     "doctor",
	synopsis: "[--json] [--key-max-age 90d] [flags]",
	text: `Audits a deployment against RFC 9700 (OAuth 2.0 Security BCP), RFC 10017
(OAuth 2.0 for Browser-Based Applications) and OAuth 2.1: the configuration
(--config, LATCH_* variables: what 'latch serve' would run with), every client
and the signing keys (from the database, or from a running Latch with
--server). Each finding has a severity (error, warning, info), a rule id, the
section it rests on and the exact fix. Exits 1 if any finding is an error.
docs/cli.md ("latch doctor") lists every rule, among them the policies
of dynamic client registration and CIMD; upstream identity providers will be
checked here once Latch has them.`,
}

func runDoctor(ctx context.Context, e *env, args []string) error {
	cmd := newAdminCmd(e, doctorHelp, true)
	asJSON := cmd.fs.Bool("json", false, "print the findings as JSON")
	maxAge := dayDuration(doctor.DefaultKeyMaxAge)
	cmd.fs.Var(&maxAge, "key-max-age", "`age` (e.g. 90d or 2160h) after which an active signing key is due for rotation")
	if _, err := cmd.parse(args); err != nil {
		return err
	}
	if maxAge <= 0 {
		return usageErrorf("doctor: --key-max-age must be positive")
	}
	cfg, err := cmd.shared.load(e, cmd.fs)
	if err != nil {
		return err
	}
	recs, err := cmd.records()
	if err != nil {
		return err
	}
	views, err := recs.ListClients(ctx)
	if err != nil {
		return err
	}
	clients := make([]store.Client, 0, len(views))
	for _, v := range views {
		c, err := clientFromView(v)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	keys, err := recs.ListKeys(ctx)
	if err != nil {
		return err
	}
	findings := doctor.Check(doctor.Input{
		Config: cfg, Clients: clients, Keys: keys, Now: e.now(), KeyMaxAge: time.Duration(maxAge),
	})
	if findings == nil {
		findings = []doctor.Finding{}
	}
	n := countFindings(findings)
	if *asJSON {
		err = writeJSON(e.stdout, doctorReport{Findings: findings, Errors: n[doctor.Error], Warnings: n[doctor.Warning], Infos: n[doctor.Info], Clients: len(clients), Keys: len(keys)})
	} else {
		err = printFindings(e.stdout, findings, n, len(clients), len(keys))
	}
	if err != nil {
		return err
	}
	if doctor.HasErrors(findings) {
		return fmt.Errorf("doctor: %s", plural(n[doctor.Error], "error"))
	}
	return nil
}

// doctorReport is the --json output.
type doctorReport struct {
	Findings []doctor.Finding `json:"findings"`
	Errors   int              `json:"errors"`
	Warnings int              `json:"warnings"`
	Infos    int              `json:"infos"`
	Clients  int              `json:"clients_checked"`
	Keys     int              `json:"keys_checked"`
}

func countFindings(fs []doctor.Finding) map[doctor.Severity]int {
	n := map[doctor.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	return n
}

// printFindings writes the text report (golden: testdata/doctor.golden):
//
//	ERROR    issuer-not-https  config
//	         issuer "http://…" is plain http …
//	         rule: RFC 8414 §2; OAuth 2.1 §1.5
//	         fix:  issuer: https://…
func printFindings(w io.Writer, fs []doctor.Finding, n map[doctor.Severity]int, clients, keys int) error {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%-8s %s  %s\n", strings.ToUpper(f.Severity.String()), f.Rule, cell(f.Subject))
		fmt.Fprintf(&b, "         %s\n", cell(f.Message))
		fmt.Fprintf(&b, "         rule: %s\n", f.Ref)
		fmt.Fprintf(&b, "         fix:  %s\n\n", cell(f.Fix))
	}
	checked := fmt.Sprintf("%d rules; %s, %s checked", len(doctor.Rules()), plural(clients, "client"), plural(keys, "key"))
	if len(fs) == 0 {
		fmt.Fprintf(&b, "no findings (%s)\n", checked)
	} else {
		fmt.Fprintf(&b, "%s, %s, %s (%s)\n", plural(n[doctor.Error], "error"), plural(n[doctor.Warning], "warning"), plural(n[doctor.Info], "info"), checked)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// clientFromView turns a client as listed (by the database or the admin
// API) back into the record the checks read. The view has every setting
// but the secret hash, which no check needs.
func clientFromView(v clientView) (store.Client, error) {
	c := store.Client{
		ID: v.ClientID, Public: v.ClientType == "public", Name: v.ClientName,
		RedirectURIs: v.RedirectURIs, PostLogoutRedirectURIs: v.PostLogoutRedirectURIs,
		AllowedOrigins: v.AllowedOrigins, GrantTypes: v.GrantTypes, Scopes: v.Scopes, Audiences: v.Audiences,
		FirstParty: v.FirstParty, RequireDPoP: v.RequireDPoP, IDTokenAlg: v.IDTokenAlg,
		RevokeRefreshOnLogout: v.RevokeRefreshOnLogout, CreatedAt: v.CreatedAt,
		BackchannelLogoutURI: v.BackchannelLogoutURI, AuthenticationPolicy: v.AuthenticationPolicy,
	}
	for _, d := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{
		{"refresh_grace", v.RefreshGrace, &c.RefreshGrace},
		{"refresh_idle", v.RefreshIdle, &c.RefreshIdle},
		{"refresh_absolute", v.RefreshAbsolute, &c.RefreshAbsolute},
		{"access_token_ttl", v.AccessTokenTTL, &c.AccessTokenTTL},
	} {
		if d.s == "" {
			continue
		}
		var err error
		if *d.dst, err = time.ParseDuration(d.s); err != nil {
			return store.Client{}, fmt.Errorf("client %q: %s %q: %w", v.ClientID, d.name, d.s, err)
		}
	}
	return c, nil
}

// dayDuration is a flag.Value for a duration that also accepts whole days
// ("90d").
type dayDuration time.Duration

func (d *dayDuration) String() string {
	if d == nil {
		return ""
	}
	if td := time.Duration(*d); td > 0 && td%(24*time.Hour) == 0 {
		return strconv.Itoa(int(td/(24*time.Hour))) + "d"
	}
	return time.Duration(*d).String()
}

func (d *dayDuration) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return errors.New("want a number of days such as 90d, or a duration such as 2160h")
		}
		*d = dayDuration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a number of days such as 90d, or a duration such as 2160h")
	}
	*d = dayDuration(v)
	return nil
}
