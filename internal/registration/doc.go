// Package registration is the registration-time policy for clients and
// users, shared by the command line (cmd/latch) and the admin API
// (internal/admin) so both accept exactly the same records: client IDs,
// redirect URIs, origins, grant types, scopes and lifetimes; usernames,
// email addresses and passwords. It also defines the JSON views both
// print, which have no field for a secret hash.
//
// It checks records before they are stored; it does not replace the
// server's per-request checks (exact redirect URI matching, RFC 9700
// §4.1.3). It never touches a store or writes a response.
package registration
