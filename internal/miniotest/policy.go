package miniotest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/recordbot/recordbot/filing/s3"
)

// READMEPolicy returns the JSON policy block of the module's
// documentation (docs/*.md, or README.md) that follows marker (such as
// "<!-- bot-iam-policy"), for bucket: the policies the documentation
// recommends are the ones the tests hold.
func READMEPolicy(t testing.TB, marker, bucket string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
	// The policies live in the security guide, docs/*.md, or the README.
	pages, err := filepath.Glob(filepath.Join(dir, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, p := range append(pages, filepath.Join(dir, "README.md")) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), marker) {
			text = string(b)
			break
		}
	}
	_, rest, ok := strings.Cut(text, marker)
	_, rest, ok2 := strings.Cut(rest, "```json\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 || !json.Valid([]byte(block)) {
		t.Fatalf("neither README.md nor docs/*.md has a valid JSON policy block after %s", marker)
	}
	return strings.ReplaceAll(block, "BUCKET", bucket)
}

// WithStatement returns policy with statement (a JSON object) added: a
// grant from elsewhere, say, that an explicit Deny in policy must
// override.
func WithStatement(t testing.TB, policy, statement string) string {
	t.Helper()
	var p map[string]any
	var st any
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(statement), &st); err != nil {
		t.Fatal(err)
	}
	list, _ := p["Statement"].([]any)
	p["Statement"] = append(list, st)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// StoreAs opens bucket as a new MinIO user who holds policy and nothing
// else. The user and the policy are removed when the test ends.
func StoreAs(t testing.TB, bucket, policy string) *s3.Store {
	t.Helper()
	c := Config(t)
	c.AccessKey, c.SecretKey = User(t, policy)
	c.Bucket = bucket
	st, err := s3.Open(context.Background(), c)
	if err != nil {
		t.Fatalf("open the store as a user holding a policy: %v", err)
	}
	return st
}

// User creates a MinIO user holding policy (a canned policy of the same
// name) and returns its keys. It goes through MinIO's IAM import, a zip of
// plain JSON files, because the admin calls that add a user one at a time
// take a body encrypted with the root secret, and STS session policies
// are limited to 2048 characters, less than the README's bot policy.
func User(t testing.TB, policy string) (accessKey, secretKey string) {
	t.Helper()
	if !json.Valid([]byte(policy)) {
		t.Fatal("User: the policy is not JSON")
	}
	b := make([]byte, 16)
	rand.Read(b)
	name := "t-" + hex.EncodeToString(b[:6])
	accessKey, secretKey = name, hex.EncodeToString(b)
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	files := []struct {
		name string
		body any
	}{
		{"policies.json", map[string]json.RawMessage{name: json.RawMessage(policy)}},
		{"users.json", map[string]any{accessKey: map[string]string{"secretKey": secretKey, "status": "enabled"}}},
		{"user_mappings.json", map[string]any{accessKey: map[string]string{"policy": name}}},
	}
	for _, f := range files {
		w, err := zw.Create("iam-assets/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(w).Encode(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	admin(t, http.MethodPut, "/minio/admin/v3/import-iam", nil, zipped.Bytes())
	t.Cleanup(func() {
		admin(t, http.MethodDelete, "/minio/admin/v3/remove-user", url.Values{"accessKey": {accessKey}}, nil)
		admin(t, http.MethodDelete, "/minio/admin/v3/remove-canned-policy", url.Values{"name": {name}}, nil)
	})
	return accessKey, secretKey
}

// admin calls MinIO's admin API as the root user.
func admin(t testing.TB, method, path string, query url.Values, body []byte) {
	t.Helper()
	c := Config(t)
	u := url.URL{Scheme: "http", Host: c.Endpoint, Path: path, RawQuery: query.Encode()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req = signer.SignV4(*req, c.AccessKey, c.SecretKey, "", c.Region)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("MinIO admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("MinIO admin %s %s: %s: %s", method, path, resp.Status, msg)
	}
	var failed struct {
		Failed map[string]any `json:"failed"`
	}
	if json.Unmarshal(msg, &failed) == nil {
		for what, v := range failed.Failed {
			if l, ok := v.([]any); ok && len(l) > 0 {
				t.Fatalf("MinIO admin %s %s: %s failed: %v", method, path, what, l)
			}
		}
	}
}
