package filing_test

import (
	"os/exec"
	"strings"
	"testing"
)

// A storage SDK stays in its store package: no other package under filing/
// (the domain, the worker, the bag writer, the local store, the records
// officers' tools) and nothing in capture/ or bot/ depends on one, directly
// or through another package. Tests may use it to tamper with a bucket.
func TestStoreSDKsStayInStorePackages(t *testing.T) {
	t.Parallel()
	const module = "github.com/recordbot/recordbot/"
	sdks := []string{"github.com/minio/minio-go", "github.com/aws/aws-sdk-go", "cloud.google.com/go/storage", "github.com/Azure/azure-sdk-for-go"}
	allowed := map[string]bool{module + "filing/s3": true}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}",
		module+"filing/...", module+"capture/...", module+"bot/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked, sawAllowed := 0, false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		var uses []string
		for _, dep := range strings.Fields(deps) {
			for _, sdk := range sdks {
				if dep == sdk || strings.HasPrefix(dep, sdk+"/") {
					uses = append(uses, dep)
				}
			}
		}
		if allowed[pkg] {
			sawAllowed = len(uses) > 0
			continue
		}
		checked++
		if len(uses) > 0 {
			t.Errorf("%s depends on the storage SDK package %s (and %d more): only %v may", pkg, uses[0], len(uses)-1, keys(allowed))
		}
	}
	if !sawAllowed {
		t.Errorf("go list did not show filing/s3 using minio-go: the test no longer sees what it guards")
	}
	if checked < 10 {
		t.Errorf("checked %d packages under filing/, capture/ and bot/, want at least 10", checked)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
