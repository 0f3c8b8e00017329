// Package app is Latch's composition root: it turns a config.Config and
// an open store into a running server.Server. Every purpose key (signing
// keys at rest, interaction sealing, the refresh-token chain, the DPoP
// nonce key) is derived here, once, from the key-encryption secret;
// internal/server receives the derived sealers and keys and the settings
// it reads (server.Options), never the secret or the whole Config.
//
// cmd/latch calls Assemble for latch serve and latch dev and NewKeys for
// the keys commands; internal/latchtest calls them for the tests.
package app
