package grant

import (
	"os"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/store"
)

// TestReasonsDocumented: every reason code has a row in docs/tokens.md's
// table, and every code the token endpoint can name (all but the
// deletions, which only audit events carry) has its sentence and the
// stable suffix.
func TestReasonsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/tokens.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range store.Reasons() {
		if r == store.ReasonClientDeleted || r == store.ReasonUserDeleted {
			if !strings.Contains(doc, "`"+string(r)+"`") {
				t.Errorf("docs/tokens.md does not mention the reason %s", r)
			}
			if _, ok := reasonSentence(r); ok {
				t.Errorf("reasonSentence(%s) is defined, but the token endpoint can never name it", r)
			}
			continue
		}
		if !strings.Contains(doc, "\n| `"+string(r)+"` |") {
			t.Errorf("docs/tokens.md's reason table has no row for %s", r)
		}
		err := endedError(r)
		if err.Code != "invalid_grant" || !strings.HasSuffix(err.Description, " (reason: "+string(r)+")") {
			t.Errorf("endedError(%s) = %s %q, want invalid_grant ending in the reason suffix", r, err.Code, err.Description)
		}
	}
	if err := endedError(""); strings.Contains(err.Description, "reason") {
		t.Errorf("endedError(\"\") = %q, want the generic answer without a reason", err.Description)
	}
}
