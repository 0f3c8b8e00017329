package doctor

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Severity ranks a finding. Only Error makes `latch doctor` exit 1.
type Severity int

const (
	// Info is a hint: nothing is wrong, something could be better
	// (cheaper, simpler).
	Info Severity = iota
	// Warning departs from a SHOULD of the RFCs or from Latch's
	// recommended bounds.
	Warning
	// Error breaks a MUST of the RFCs, or leaves the deployment open
	// (e.g. an unauthenticated admin listener on the network).
	Error
)

// String is "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText makes a Severity its name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a Severity's name, so a program can decode the
// output of `latch doctor --json`.
func (s *Severity) UnmarshalText(b []byte) error {
	for _, v := range []Severity{Info, Warning, Error} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("doctor: unknown severity %q", b)
}

// Finding is one problem found in a deployment.
type Finding struct {
	Severity Severity `json:"severity"`
	// Rule is the stable id of the rule, e.g. "spa-no-allowed-origin".
	Rule string `json:"rule"`
	// Ref is the section the rule rests on, e.g. "RFC 10017 §6.3.3.4".
	Ref string `json:"ref"`
	// Subject is what the finding is about: "config", "client ID" or
	// "key KID".
	Subject string `json:"subject"`
	// Message says what is wrong and why it matters.
	Message string `json:"message"`
	// Fix is the exact command or configuration key to change.
	Fix string `json:"fix"`
}

// Input is everything Check looks at. It carries no secret values:
// Config's secrets are only tested for presence (admin-token), and
// clients carry only their secret hash, which no rule reads.
type Input struct {
	// Config is the effective configuration (defaults, file,
	// environment), not validated: its problems become findings.
	Config config.Config
	// Clients are every registered client.
	Clients []store.Client
	// Keys are the signing keys' metadata (token.Keys.List).
	Keys []token.KeyInfo
	// Now is the time keys are aged against.
	Now time.Time
	// KeyMaxAge is how old an active signing key may be before rotation
	// is overdue; zero means DefaultKeyMaxAge.
	KeyMaxAge time.Duration

	// Policies of upstream identity providers go here once Latch has
	// them (see the package documentation); those of dynamic client
	// registration and Client ID Metadata Documents are in Config.
}

// DefaultKeyMaxAge is the default age at which an active signing key is
// due for rotation.
const DefaultKeyMaxAge = 90 * 24 * time.Hour

// Check runs every rule over in and returns the findings, errors first,
// then warnings, then infos; within a severity in the order of Rules,
// then by subject. It never fails: a value it cannot interpret is itself
// a finding.
func Check(in Input) []Finding {
	if in.KeyMaxAge <= 0 {
		in.KeyMaxAge = DefaultKeyMaxAge
	}
	// Sort a copy of the clients, so findings do not depend on the order
	// a store lists them in.
	in.Clients = slices.Clone(in.Clients)
	slices.SortFunc(in.Clients, func(a, b store.Client) int { return cmp.Compare(a.ID, b.ID) })

	var out []Finding
	order := map[string]int{}
	for i, r := range rules() {
		order[r.ID] = i
		rep := &reporter{rule: r}
		r.check(&in, rep)
		out = append(out, rep.found...)
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(order[a.Rule], order[b.Rule]),
		)
	})
	return out
}

// HasErrors reports whether any finding is an Error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// Rule describes one check: what `latch doctor` and docs/cli.md list.
type Rule struct {
	ID       string
	Severity Severity
	Ref      string
	// Summary is one line: what the rule finds.
	Summary string
	// FixHint is the generic fix; a finding's Fix names the exact
	// client, key or value.
	FixHint string

	check func(in *Input, r *reporter)
}

// Rules returns every rule, in the order findings of one severity are
// listed.
func Rules() []Rule { return rules() }

// reporter collects one rule's findings.
type reporter struct {
	rule  Rule
	found []Finding
}

// add records a finding of the rule's severity.
func (r *reporter) add(subject, fix, format string, args ...any) {
	r.found = append(r.found, Finding{
		Severity: r.rule.Severity, Rule: r.rule.ID, Ref: r.rule.Ref,
		Subject: subject, Message: fmt.Sprintf(format, args...), Fix: fix,
	})
}
