package admin_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// readmePath is the README whose admin API examples are checked.
const readmePath = "../../README.md"

// curlCommand is one curl invocation found in a README code block.
type curlCommand struct {
	line    int // where it starts in README.md
	text    string
	args    []string
	headers []string // -H values
	data    string   // -d value, "" when none
	hasData bool
	method  string // -X value, "" when none
	url     string
}

// readmeCurls returns every curl command in README.md's sh code blocks,
// with continuation lines and multi-line quoted arguments joined.
func readmeCurls(t *testing.T) []curlCommand {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	var out []curlCommand
	inCode := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	var pending string
	start := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			pending = ""
			continue
		}
		if !inCode {
			continue
		}
		if pending == "" {
			start = n
		}
		pending += line + "\n"
		args, complete := shellWords(pending)
		if !complete {
			continue // an open quote or a trailing backslash: read on
		}
		text := pending
		pending = ""
		// The command may be inside $(…) or after VAR=: find "curl".
		for i, a := range args {
			if strings.TrimPrefix(a, "$(") != "curl" {
				continue
			}
			out = append(out, parseCurl(start, text, args[i+1:]))
			break
		}
	}
	return out
}

// parseCurl reads the options curl examples use.
func parseCurl(line int, text string, args []string) curlCommand {
	c := curlCommand{line: line, text: strings.TrimSpace(text), args: args}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "-H":
			c.headers = append(c.headers, next())
		case a == "-d" || a == "--data":
			c.data, c.hasData = next(), true
		case a == "-X":
			c.method = next()
		case a == "-u":
			next()
		case a == "|" || a == "#" || strings.HasPrefix(a, "#"):
			return c
		case strings.HasPrefix(a, "-"):
		case c.url == "":
			c.url = strings.TrimSuffix(a, ")")
		}
	}
	return c
}

// shellWords splits s like a POSIX shell (quotes, backslash-newline; no
// expansion) and reports whether s is a complete command. Pipes and
// comments come out as words of their own.
func shellWords(s string) (words []string, complete bool) {
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case c == '\\' && i+1 == len(s)-1:
			return nil, false
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}

// TestREADMECurlJSONBodies: every curl example in the README that sends a
// JSON body says so with Content-Type: application/json; without it curl
// sends application/x-www-form-urlencoded and the admin API answers 415.
func TestREADMECurlJSONBodies(t *testing.T) {
	curls := readmeCurls(t)
	if len(curls) < 5 {
		t.Fatalf("found %d curl commands in %s; the parser is broken", len(curls), readmePath)
	}
	jsonBodies := 0
	for _, c := range curls {
		if !c.hasData || !strings.HasPrefix(strings.TrimSpace(c.data), "{") {
			continue
		}
		jsonBodies++
		ok := false
		for _, h := range c.headers {
			name, value, _ := strings.Cut(h, ":")
			ok = ok || strings.EqualFold(strings.TrimSpace(name), "Content-Type") && strings.TrimSpace(value) == "application/json"
		}
		if !ok {
			t.Errorf("README.md line %d: curl sends a JSON body without -H 'Content-Type: application/json':\n%s", c.line, c.text)
		}
	}
	if jsonBodies == 0 {
		t.Fatal("no curl example with a JSON body found; the parser is broken")
	}
}

// TestREADMEAdminExamples runs the README's admin API curl examples
// against a real admin listener ($A, $H and $ID substituted) and expects
// each to succeed, so the examples cannot drift from the API.
func TestREADMEAdminExamples(t *testing.T) {
	h := newHarness(t, adminToken)
	// latchtest seeds the client and the user the examples create.
	h.want(h.do(http.MethodDelete, "/admin/clients/web", nil), http.StatusNoContent)
	h.want(h.do(http.MethodDelete, "/admin/users/user-alice", nil), http.StatusNoContent)
	vars := strings.NewReplacer("$A", h.url, "$H", "Authorization: Bearer "+adminToken)
	ran := 0
	for _, c := range readmeCurls(t) {
		if !strings.HasPrefix(c.url, "$A/admin/") {
			continue
		}
		u := vars.Replace(c.url)
		if strings.Contains(u, "$ID") {
			// The example before it looked alice up; so does the test.
			users := h.want(h.do(http.MethodGet, "/admin/users?username=alice", nil), http.StatusOK)
			var list []map[string]any
			users.json(t, &list)
			if len(list) != 1 {
				t.Fatalf("README.md line %d: want alice, got %s", c.line, users.body)
			}
			u = strings.ReplaceAll(u, "$ID", list[0]["id"].(string))
		}
		method := c.method
		var body io.Reader
		if c.hasData {
			body = strings.NewReader(c.data)
			if method == "" {
				method = http.MethodPost
			}
		}
		if method == "" {
			method = http.MethodGet
		}
		req, err := http.NewRequestWithContext(t.Context(), method, u, body)
		if err != nil {
			t.Fatalf("README.md line %d: %v", c.line, err)
		}
		if c.hasData {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends by default
		}
		for _, hv := range c.headers {
			name, value, _ := strings.Cut(vars.Replace(hv), ":")
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("README.md line %d: %v", c.line, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("README.md line %d: %s %s → %d %s\n%s", c.line, method, c.url, resp.StatusCode, b, c.text)
		}
		ran++
	}
	if ran < 5 {
		t.Fatalf("ran %d admin API examples from the README, want at least 5", ran)
	}
}
