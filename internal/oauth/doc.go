// Package oauth is Latch's protocol vocabulary: error codes and the Error
// type, request parsing for the authorization and token endpoints, PKCE,
// redirect URI matching and scopes. It imports only the standard library,
// knows nothing of storage, and never writes an HTTP response: the server
// package is the one place that turns an *Error into bytes.
package oauth
