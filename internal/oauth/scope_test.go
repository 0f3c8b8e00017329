package oauth

import (
	"reflect"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"openid", []string{"openid"}, false},
		{"openid profile email", []string{"openid", "profile", "email"}, false},
		{"openid profile openid", []string{"openid", "profile"}, false},
		{"b a b a", []string{"b", "a"}, false},
		{"!#[]^~ x:y/z https://api.example/read", []string{"!#[]^~", "x:y/z", "https://api.example/read"}, false},
		{" openid", nil, true},
		{"openid ", nil, true},
		{"openid  profile", nil, true},
		{" ", nil, true},
		{"openid\tprofile", nil, true},
		{"openid\nprofile", nil, true},
		{`open"id`, nil, true},
		{`open\id`, nil, true},
		{"openíd", nil, true},
		{"openid\x7f", nil, true},
		{"openid\x00", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseScope(tt.in)
		if tt.wantErr {
			e, ok := As(err)
			if !ok || e.Code != InvalidScope || got != nil {
				t.Errorf("ParseScope(%q) = %q, %v; want nil, invalid_scope", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseScope(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestJoinScope(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"openid"}, "openid"},
		{[]string{"openid", "profile"}, "openid profile"},
	} {
		if got := JoinScope(tt.in); got != tt.want {
			t.Errorf("JoinScope(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScopeSubsetAndHasScope(t *testing.T) {
	set := []string{"openid", "profile", "email"}
	tests := []struct {
		sub  []string
		want bool
	}{
		{nil, true},
		{[]string{}, true},
		{[]string{"openid"}, true},
		{[]string{"email", "openid"}, true},
		{[]string{"openid", "offline_access"}, false},
		{[]string{"OPENID"}, false},
		{[]string{"open"}, false},
	}
	for _, tt := range tests {
		if got := ScopeSubset(tt.sub, set); got != tt.want {
			t.Errorf("ScopeSubset(%q, %q) = %v, want %v", tt.sub, set, got, tt.want)
		}
	}
	if ScopeSubset([]string{"openid"}, nil) {
		t.Error("ScopeSubset([openid], nil) = true, want false")
	}
	if !HasScope(set, ScopeEmail) || HasScope(set, ScopeOfflineAccess) || HasScope(nil, ScopeOpenID) {
		t.Errorf("HasScope on %q gave wrong answers", set)
	}
}
