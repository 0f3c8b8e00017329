package latch_test

// The docs' own tests: the README is a front page and docs/ the library
// (issue 12 item 7), and these keep the two from rotting apart. Every
// relative link resolves to a file and, for a Markdown file, to one of its
// headings; every section the README had before the split still exists as
// a heading somewhere; and the README's "Project layout" names every Go
// package of the module and nothing that is gone.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// docPages returns README.md and every docs/*.md, relative to the module root.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	return append([]string{"README.md"}, pages...)
}

// mdLine is one line of a Markdown file outside fenced code blocks.
type mdLine struct {
	n    int
	text string
}

// proseLines returns the lines of a Markdown file outside ``` fences.
func proseLines(t *testing.T, path string) []mdLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []mdLine
	inCode := false
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			out = append(out, mdLine{i + 1, l})
		}
	}
	return out
}

var headingRE = regexp.MustCompile(`^(#{1,6}) +(.*?)\s*$`)

// headings returns the text of every heading of a Markdown file.
func headings(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range proseLines(t, path) {
		if m := headingRE.FindStringSubmatch(l.text); m != nil {
			out = append(out, m[2])
		}
	}
	return out
}

// slug is GitHub's anchor for a heading: lower case, punctuation other
// than '-' and '_' dropped, spaces turned into '-'.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns every anchor of a Markdown file, a repeated heading
// numbered as GitHub does ("x", "x-1", …).
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, h := range headings(t, path) {
		s := slug(h)
		a := s
		for i := 1; out[a]; i++ {
			a = s + "-" + strconv.Itoa(i)
		}
		out[a] = true
	}
	return out
}

var (
	codeSpanRE = regexp.MustCompile("`[^`]*`")
	linkRE     = regexp.MustCompile(`\]\(([^()\s]+)\)`)
)

// TestDocsLinks: every relative link in README.md and docs/*.md points at
// a file or directory of the repository, and an anchor (#…) at a heading
// of the Markdown file it names.
func TestDocsLinks(t *testing.T) {
	links := 0
	for _, page := range docPages(t) {
		for _, l := range proseLines(t, page) {
			text := codeSpanRE.ReplaceAllStringFunc(l.text, func(s string) string {
				return strings.Repeat("x", len(s)) // [`name`](link): keep the link
			})
			for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				file, anchor, _ := strings.Cut(target, "#")
				path := page
				if file != "" {
					path = filepath.Join(filepath.Dir(page), file)
					if _, err := os.Stat(path); err != nil {
						t.Errorf("%s:%d: link %q: %s does not exist", page, l.n, target, path)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(path, ".md") {
					t.Errorf("%s:%d: link %q: an anchor into a file that is not Markdown", page, l.n, target)
					continue
				}
				if !anchors(t, path)[anchor] {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", page, l.n, target, path, anchor)
				}
			}
		}
	}
	if links < 20 {
		t.Fatalf("found %d relative links; the link parser is broken", links)
	}
}

// TestDocsKeepEverySection: every section heading of the README before it
// became a front page (testdata/docs/readme-headings.txt) is still a
// heading of README.md or a docs/*.md page, so a section cannot be lost
// in a reorganisation. A line "old => new" records a section renamed when
// it became a page. A section deliberately dropped is removed from the
// list in the same commit.
func TestDocsKeepEverySection(t *testing.T) {
	have := map[string][]string{}
	for _, page := range docPages(t) {
		for _, h := range headings(t, page) {
			have[h] = append(have[h], page)
		}
	}
	f, err := os.Open("testdata/docs/readme-headings.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		n++
		want := line
		if _, renamed, ok := strings.Cut(line, " => "); ok {
			want = renamed
		}
		if len(have[want]) == 0 {
			t.Errorf("no heading %q in README.md or docs/*.md", want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("read %d headings from testdata/docs/readme-headings.txt; want the README's old sections", n)
	}
}

// TestReadmeLayout: the code block under the README's "## Project layout"
// lists every package of `go list ./...` as its directory ("internal/oauth/"),
// and every path it lists exists.
func TestReadmeLayout(t *testing.T) {
	var listed []string
	inSection, inBlock := false, false
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "## "):
			inSection = l == "## Project layout"
		case inSection && strings.HasPrefix(l, "```"):
			if inBlock {
				inSection = false // the first block only
			}
			inBlock = !inBlock
		case inSection && inBlock && strings.TrimSpace(l) != "":
			listed = append(listed, strings.Fields(l)[0])
		}
	}
	if len(listed) == 0 {
		t.Fatal(`README.md: no code block under "## Project layout"`)
	}
	for _, p := range listed {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("README.md Project layout lists %s, which does not exist", p)
		}
	}

	out, err := exec.CommandContext(t.Context(), "go", "list", "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	pkgs := 0
	for path := range strings.FieldsSeq(string(out)) {
		dir, ok := rel(path)
		if !ok || dir == "" {
			continue // the module root holds only these tests
		}
		pkgs++
		if !slices.Contains(listed, dir+"/") {
			t.Errorf("README.md Project layout does not list the package %s/", dir)
		}
	}
	if pkgs < 10 {
		t.Fatalf("go list ./... found %d packages", pkgs)
	}
}
