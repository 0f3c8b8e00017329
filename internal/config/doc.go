// Package config holds Latch's configuration: the Config struct, its
// defaults, loading from a YAML file, LATCH_* environment variables and
// command-line flags (in that order of precedence, flags winning), and
// Validate. There is no global state: Load returns a value.
//
// The Config struct is the single list of keys. Each exported field with a
// yaml tag is one key, known by three names: the YAML key ("code-ttl"),
// the environment variable ("LATCH_CODE_TTL") and the flag ("--code-ttl").
// Durations are written as Go durations ("10m", "168h"); lists in the
// environment and on the command line are comma-separated, and list flags
// may also be repeated.
//
// The package does not open listeners, databases or files other than the
// YAML file named by --config / LATCH_CONFIG, and it does not log.
package config
