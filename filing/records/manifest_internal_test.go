package records

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// readManifest is the one reader of BagIt manifests: it decodes the
// percent-encoding of CR, LF and % (RFC 8493 section 2.1.3), numbers the
// lines it cannot read, and fails on a line too long to read on.
func TestReadManifest(t *testing.T) {
	t.Parallel()
	sum := strings.Repeat("ab", 32)
	data := sum + "  data/files/100%25 done.csv\r\n" +
		"\n" +
		strings.ToUpper(sum) + " data/a%0Ab%0dc.txt\n" +
		"nothex data/x\n" +
		sum + "  /etc/passwd\n" +
		sum + "  data/../../x\n" +
		sum + "\n"
	var bad []int
	got, err := readManifest([]byte(data), func(n int) { bad = append(bad, n) })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"data/files/100% done.csv": sum, "data/a\nb\rc.txt": sum}
	if !maps.Equal(got, want) {
		t.Errorf("readManifest = %q, want %q", got, want)
	}
	if !slices.Equal(bad, []int{4, 5, 6, 7}) {
		t.Errorf("bad lines = %v, want [4 5 6 7]", bad)
	}
	long := sum + "  data/" + strings.Repeat("x", 1<<20) + "\n"
	if _, err := readManifest([]byte(long), func(int) {}); err == nil {
		t.Error("readManifest of a line over 1 MiB: no error")
	}
	sums, err := parseSums([]byte(sum + "  data/files/100%25.csv\n"))
	if err != nil || sums["data/files/100%.csv"] != sum {
		t.Errorf("parseSums (export) = %q, %v; want the decoded path", sums, err)
	}
	if _, err := parseSums([]byte("nothex data/x\n")); err == nil || !strings.Contains(err.Error(), "malformed line") {
		t.Errorf("parseSums of a bad line = %v, want it named malformed", err)
	}
}
