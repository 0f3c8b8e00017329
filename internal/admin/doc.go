// Package admin is Latch's admin listener: liveness and readiness probes,
// Prometheus metrics and the admin API (clients, users, sessions, signing
// keys) as JSON over HTTP, described by an OpenAPI 3.1 document served at
// /admin/openapi.json.
//
// The admin API is protected by one bearer token (config admin-token),
// compared in constant time. Without a token the API is disabled: every
// /admin/ route but the OpenAPI document answers 403, never an open API.
// The probes and /metrics carry no secrets and need no token; the
// listener binds to loopback by default and config.Validate refuses a
// non-loopback admin-addr without a token.
//
// Every operation is decode → service → encode: the admin service
// (internal/manage), which the CLI's local road calls too, validates,
// writes and audits (actor "admin-api"); this package only decodes
// requests, maps manage.Error to a status and writes JSON. It does not
// import the server: cmd/latch hands it the store, the server's signing
// keys and readiness check.
package admin
