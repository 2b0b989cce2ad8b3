package localkube

import (
	"strings"
	"testing"
)

func TestSplitYAML(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		want         []string
	}{
		{name: "one document", stream: "a: 1\n", want: []string{"a: 1\n"}},
		{name: "leading separator", stream: "---\na: 1\n---\nb: 2\n", want: []string{"a: 1\n", "b: 2\n"}},
		{name: "comment-only documents dropped", stream: "---\n# Source: x\n---\n# Source: y\nb: 2\n",
			want: []string{"# Source: y\nb: 2\n"}},
		{name: "separator inside a block scalar is not at column 0", stream: "a: |\n  ---\n  x\n",
			want: []string{"a: |\n  ---\n  x\n"}},
		{name: "empty", stream: "\n\n", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range SplitYAML([]byte(tc.stream)) {
				got = append(got, string(d))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestRBACManifests checks the fixture binds the groups it is given and splits into the four
// objects Apply sends one by one.
func TestRBACManifests(t *testing.T) {
	b, err := RBACManifests(RBACGroups{Admins: "admins-oid", Team: "team-oid"})
	if err != nil {
		t.Fatal(err)
	}
	docs := SplitYAML(b)
	if len(docs) != 4 {
		t.Fatalf("got %d documents; want 4", len(docs))
	}
	for i, want := range []string{"kind: Namespace", "name: admins-oid", "kind: Role\n", "name: team-oid"} {
		if !strings.Contains(string(docs[i]), want) {
			t.Errorf("document %d lacks %q:\n%s", i, want, docs[i])
		}
	}
}
