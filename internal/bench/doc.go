// Package bench is the load generator behind `latch-bench` (cmd/latch-bench): the workloads
// W1–W6 (client credentials, the full Authorization Code + PKCE flow with
// an SSO session, refresh-token rotation, introspection, password login,
// and in-process access-token verification with the verify package), a
// driver that runs one workload at a chosen concurrency for a chosen
// duration, latency statistics (a log-linear histogram with under 1 %
// relative error), a progress line, and JSON and self-contained HTML
// reports.
//
// It speaks only HTTP to the server under test, so it drives Latch and
// other OpenID providers alike (endpoints come from the discovery
// document). Starting a server is the caller's business (cmd/latch): this
// package never opens a store and never imports the server.
//
// What it does not do: it does not verify the signatures of the tokens it
// receives in W1–W4 (that would spend the CPU it is measuring on the same
// machine); it checks that every expected token is present and that the
// ID token's iss, aud and nonce are right. W6 is the signature-checking
// workload.
package bench
