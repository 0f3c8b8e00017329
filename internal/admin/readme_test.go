package admin_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docFiles are the Markdown files whose curl examples are checked: the
// README and every page of docs/ (the admin API's are in
// docs/operations.md).
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	return append([]string{"../../README.md"}, files...)
}

// curlCommand is one curl invocation found in a code block of the docs.
type curlCommand struct {
	file    string // the Markdown file, relative to the module root
	line    int    // where it starts in file
	text    string
	args    []string
	headers []string // -H values
	data    string   // -d value, "" when none
	hasData bool
	method  string // -X value, "" when none
	url     string
}

// readmeCurls returns every curl command in the code blocks of the README
// and docs/*.md, with continuation lines and multi-line quoted arguments
// joined.
func readmeCurls(t *testing.T) []curlCommand {
	t.Helper()
	var out []curlCommand
	for _, f := range docFiles(t) {
		out = append(out, fileCurls(t, f)...)
	}
	return out
}

// fileCurls returns the curl commands of one Markdown file.
func fileCurls(t *testing.T, path string) []curlCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file := strings.TrimPrefix(path, "../../")
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
			c := parseCurl(start, text, args[i+1:])
			c.file = file
			out = append(out, c)
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

// TestREADMECurlJSONBodies: every curl example in the docs that sends a
// JSON body says so with Content-Type: application/json; without it curl
// sends application/x-www-form-urlencoded and the admin API answers 415.
func TestREADMECurlJSONBodies(t *testing.T) {
	curls := readmeCurls(t)
	if len(curls) < 5 {
		t.Fatalf("found %d curl commands in README.md and docs/*.md; the parser is broken", len(curls))
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
			t.Errorf("%s:%d: curl sends a JSON body without -H 'Content-Type: application/json':\n%s", c.file, c.line, c.text)
		}
	}
	if jsonBodies == 0 {
		t.Fatal("no curl example with a JSON body found; the parser is broken")
	}
}

// TestREADMEAdminExamples runs the admin API curl examples of the docs
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
				t.Fatalf("%s:%d: want alice, got %s", c.file, c.line, users.body)
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
			t.Fatalf("%s:%d: %v", c.file, c.line, err)
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
			t.Fatalf("%s:%d: %v", c.file, c.line, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("%s:%d: %s %s → %d %s\n%s", c.file, c.line, method, c.url, resp.StatusCode, b, c.text)
		}
		ran++
	}
	if ran < 5 {
		t.Fatalf("ran %d admin API examples from the docs, want at least 5", ran)
	}
}
