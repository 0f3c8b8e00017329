package store

import (
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s can be stored as text by every backend and
// compared as the same string by all of them: valid UTF-8 with no NUL
// byte. PostgreSQL refuses both in text columns (SQLSTATE 22021), which
// would surface as a store failure (a 500 and latch_store_errors_total)
// for what is only bad input. The store does not check this itself: every
// value taken from a request is checked at the edge — the form and query
// parsing of internal/server, the admin API's path, query and JSON
// decoding — and refused with that endpoint's own error before any store
// call.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// ValidValues reports whether every key and value of a parsed form or
// query (url.Values) is ValidText: the edge rule for a whole request.
func ValidValues(q map[string][]string) bool {
	for k, vs := range q {
		if !ValidText(k) {
			return false
		}
		for _, v := range vs {
			if !ValidText(v) {
				return false
			}
		}
	}
	return true
}
