package records

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// parseManifest reads "<sha256> <path>" lines into path -> sum.
func parseManifest(data []byte, name string, problem func(kind, path, detail string)) map[string]string {
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
		if !ok || len(sum) != 64 || path == "" || strings.Contains(path, "..") {
			problem(Malformed, name, fmt.Sprintf("line %d cannot be read", n))
			continue
		}
		out[decodeBagPath(path)] = strings.ToLower(sum)
	}
	return out
}

// decodeBagPath undoes filing.EncodeBagPath.
func decodeBagPath(p string) string {
	return strings.NewReplacer("%0D", "\r", "%0d", "\r", "%0A", "\n", "%0a", "\n", "%25", "%").Replace(p)
}
