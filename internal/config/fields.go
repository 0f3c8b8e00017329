package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every configuration environment variable.
const EnvPrefix = "LATCH_"

// ConfigEnv names the YAML file when --config is not given.
const ConfigEnv = EnvPrefix + "CONFIG"

// ConfigFlag is the flag naming the YAML file.
const ConfigFlag = "config"

// Redaction replaces secret values in Redacted, Fields and LogValue.
const Redaction = "REDACTED"

var durationType = reflect.TypeFor[time.Duration]()

// field is one key of Config, found by reflection over its struct tags.
// The Config struct is the only list of keys; everything else derives
// from it through fields().
type field struct {
	key    string // YAML key and flag name, e.g. "code-ttl"
	env    string // e.g. "LATCH_CODE_TTL"
	help   string
	secret bool
	index  int // Config field index
	typ    reflect.Type
}

// fields lists the keys of Config in declaration order. It panics on an
// unsupported field type: that is a programming error the tests catch.
func fields() []field {
	t := reflect.TypeFor[Config]()
	out := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || key == "" || key == "-" {
			continue
		}
		if typeName(sf.Type) == "" {
			panic(fmt.Sprintf("config: field %s has unsupported type %s", sf.Name, sf.Type))
		}
		out = append(out, field{
			key:    key,
			env:    EnvName(key),
			help:   sf.Tag.Get("help"),
			secret: sf.Tag.Get("secret") == "true",
			index:  i,
			typ:    sf.Type,
		})
	}
	return out
}

// EnvName is the environment variable for a YAML key: LATCH_ + the key
// upper-cased with '-' as '_' ("code-ttl" → "LATCH_CODE_TTL").
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// typeName is the user-facing name of a supported field type, or "" when
// the type is unsupported.
func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int:
		return "int"
	case reflect.Uint32:
		return "uint"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "list"
		}
	}
	return ""
}

// setString parses s into v (an addressable field of a supported type).
// A list is comma-separated; blanks around items and empty items are
// dropped, so "" is the empty list. Errors do not name the key: callers
// add the key, variable or flag they came from.
func setString(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (want e.g. 90s, 10m, 24h)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q (want true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(n)
	case reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid non-negative integer %q (at most %d)", s, uint32(1<<32-1))
		}
		v.SetUint(n)
	case reflect.Slice:
		v.Set(reflect.ValueOf(splitList(s)))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty items. It never returns nil, so an explicit "" clears a list.
func splitList(s string) []string {
	out := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// format renders v the way setString reads it back.
func format(v reflect.Value) string {
	if v.Type() == durationType {
		return formatDuration(time.Duration(v.Int()))
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint32:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Slice:
		return strings.Join(v.Interface().([]string), ",")
	}
	return fmt.Sprint(v.Interface())
}

// formatDuration is time.Duration.String without trailing zero units:
// "10m" rather than "10m0s", "24h" rather than "24h0m0s". It round-trips
// through time.ParseDuration.
func formatDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// KeyDoc describes one configuration key, for help text and the
// configuration reference in docs/configuration.md.
type KeyDoc struct {
	Key         string // YAML key, e.g. "code-ttl"
	Env         string // environment variable, e.g. "LATCH_CODE_TTL"
	Flag        string // command-line flag, e.g. "--code-ttl"
	Type        string // string, bool, int, uint, duration or list
	Default     string // Default()'s value formatted as it is written; "" when none
	Description string
	Secret      bool // never logged; shown as REDACTED
}

// Keys documents every configuration key in declaration order. It does
// not include --config / LATCH_CONFIG (see ConfigFlag and ConfigEnv).
func Keys() []KeyDoc {
	def := reflect.ValueOf(Default())
	var out []KeyDoc
	for _, f := range fields() {
		d := ""
		if v := def.Field(f.index); !v.IsZero() {
			d = format(v)
		}
		out = append(out, KeyDoc{
			Key:         f.key,
			Env:         f.env,
			Flag:        "--" + f.key,
			Type:        typeName(f.typ),
			Default:     d,
			Description: f.help,
			Secret:      f.secret,
		})
	}
	return out
}

// FieldValue is one key and its value as text.
type FieldValue struct {
	Key   string
	Value string
}

// Fields lists every key of c with its value formatted as it would be
// written in YAML or the environment, secrets replaced by REDACTED when
// set. It is meant for logging and `latch config`-style output.
func (c Config) Fields() []FieldValue {
	v := reflect.ValueOf(c.Redacted())
	var out []FieldValue
	for _, f := range fields() {
		out = append(out, FieldValue{Key: f.key, Value: format(v.Field(f.index))})
	}
	return out
}

// LogValue implements slog.LogValuer: a Config logged with log/slog is a
// group of its keys with secrets redacted, so passing the whole Config to
// a logger never leaks KeyEncryptionSecret or AdminToken.
func (c Config) LogValue() slog.Value {
	fv := c.Fields()
	attrs := make([]slog.Attr, 0, len(fv)+1)
	for _, f := range fv {
		attrs = append(attrs, slog.String(f.Key, f.Value))
	}
	attrs = append(attrs, slog.Bool("dev", c.Dev))
	return slog.GroupValue(attrs...)
}

func redacted(c Config) Config {
	v := reflect.ValueOf(&c).Elem()
	for _, f := range fields() {
		if !f.secret {
			continue
		}
		fv := v.Field(f.index)
		if fv.Kind() != reflect.String {
			panic("config: secret field " + f.key + " is not a string")
		}
		if fv.String() != "" {
			fv.SetString(Redaction)
		}
	}
	c.DB = redactDSN(c.DB)
	return c
}

// redactDSN hides the password of a database URL (in its user info or a
// password= parameter, both of which pgx accepts) and keeps the rest, which
// operators need to see. A DSN without a password is returned unchanged.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// Unparseable, so its password cannot be found: show none of it.
		if strings.Contains(dsn, "@") || strings.Contains(strings.ToLower(dsn), "password") {
			return Redaction
		}
		return dsn
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), Redaction)
		changed = true
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", Redaction)
		u.RawQuery = q.Encode()
		changed = true
	}
	if !changed {
		return dsn
	}
	return u.String()
}
