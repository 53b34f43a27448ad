package records

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// readManifest reads a BagIt manifest or tag manifest: "<sha256> <path>"
// lines (RFC 8493 section 2.1.3), each path percent-encoded for CR, LF and
// "%" as filing.EncodeBagPath writes it and decoded here, into path -> sum.
// It is the one reader of manifests, for verify and for export alike.
// A line it cannot read (no sum, a sum not 64 characters long, no path, an
// absolute path or one with "..") is left out and its number handed to bad;
// an error is returned only when the manifest cannot be read on at all
// (a line over 1 MiB).
func readManifest(data []byte, bad func(line int)) (map[string]string, error) {
	out := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		sum, path, ok := strings.Cut(line, " ")
		path = strings.TrimLeft(path, " \t")
		if !ok || len(sum) != 64 || path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
			bad(n)
			continue
		}
		out[decodeBagPath(path)] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("manifest unreadable after %d paths: %w", len(out), err)
	}
	return out, nil
}

// parseManifest reads the manifest called name for verify, reporting each
// line that cannot be read, and a manifest that cannot be read to its
// end, as Malformed.
func parseManifest(data []byte, name string, problem func(kind, path, detail string)) map[string]string {
	out, err := readManifest(data, func(n int) { problem(Malformed, name, fmt.Sprintf("line %d cannot be read", n)) })
	if err != nil {
		problem(Malformed, name, err.Error())
	}
	return out
}

// decodeBagPath undoes filing.EncodeBagPath.
func decodeBagPath(p string) string {
	return strings.NewReplacer("%0D", "\r", "%0d", "\r", "%0A", "\n", "%0a", "\n", "%25", "%").Replace(p)
}

// ManifestSum is the sha256 a BagIt manifest gives the file at path, ""
// when it lists none: for the search index, which checks a transcript on a
// store that keeps no versions.
func ManifestSum(data []byte, path string) string {
	m, _ := readManifest(data, func(int) {})
	return m[path]
}
