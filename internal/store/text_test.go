package store

import "testing"

func TestValidText(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"alice", true},
		{"Zoë 日本 \t\n", true}, // other control characters are the caller's policy
		{"a\x00b", false},
		{"\x00", false},
		{"a\xffb", false},
		{"\xed\xa0\x80", false}, // a UTF-16 surrogate encoded in UTF-8
		{"\xc3", false},         // truncated sequence
	} {
		if got := ValidText(tt.s); got != tt.want {
			t.Errorf("ValidText(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestValidValues(t *testing.T) {
	for _, tc := range []struct {
		q    map[string][]string
		want bool
	}{
		{nil, true},
		{map[string][]string{"a": {"b", ""}}, true},
		{map[string][]string{"a\x00": {"b"}}, false},
		{map[string][]string{"a": {"ok", "b\xff"}}, false},
		{map[string][]string{"ü": {"ß"}}, true},
	} {
		if got := ValidValues(tc.q); got != tc.want {
			t.Errorf("ValidValues(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}
