package componentspec

import (
	"os"
	"strings"
	"testing"
)

// TestDocExamples parses every complete spec in docs/component-spec.md, so the documentation
// cannot drift from the parser.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/component-spec.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		body, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("unterminated yaml block: %.40q", block)
		}
		if !strings.HasPrefix(body, "apiVersion:") {
			continue
		}
		n++
		s, err := Parse([]byte(body), "docs/component-spec.md")
		if err != nil {
			t.Errorf("example %d: %v", n, err)
			continue
		}
		if _, err := s.Component(); err != nil {
			t.Errorf("example %d: Component: %v", n, err)
		}
	}
	if n == 0 {
		t.Error("no complete spec found in docs/component-spec.md")
	}
}
