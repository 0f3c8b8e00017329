// Package doctor audits a Latch deployment — its configuration, its
// clients and its signing keys — against RFC 9700 (OAuth 2.0 Security
// BCP), RFC 10017 (OAuth 2.0 for Browser-Based Applications) and OAuth 2.1
// (draft-ietf-oauth-v2-1), and returns findings: a severity, a stable rule
// id, the section it rests on, what is wrong and the exact fix.
//
// Check takes plain values (a config.Config, store.Client records,
// token.KeyInfo metadata): it performs no I/O, opens no store, writes
// nothing and never sees a secret's value. `latch doctor` (cmd/latch)
// reads the values and renders the findings.
//
// Extension point: every rule is one entry of the table in rules.go. The
// policies of dynamic client registration (RFC 7591) and Client ID
// Metadata Documents are configuration, so their rules read Input.Config
// (registration-open, cimd-allow-all); when Latch gains upstream identity
// providers, their policies become fields of Input and their checks new
// entries of that table (e.g. an upstream without PKCE); nothing else
// changes.
package doctor
