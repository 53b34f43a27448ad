package records_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// policyBlock returns the JSON block of README.md after marker, for bucket.
func policyBlock(t *testing.T, marker, bucket string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	_, rest, ok2 := strings.Cut(rest, "```json\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 || !json.Valid([]byte(block)) {
		t.Fatalf("README.md has no valid JSON policy block after %s", marker)
	}
	return strings.ReplaceAll(block, "BUCKET", bucket)
}

// storeAs opens bucket with MinIO temporary credentials limited by policy,
// taken by the store as its IAM credentials.
func storeAs(t *testing.T, bucket, policy string) *s3.Store {
	t.Helper()
	c := miniotest.Config(t)
	sts, err := credentials.NewSTSAssumeRole("http://"+c.Endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: c.AccessKey, SecretKey: c.SecretKey, Policy: policy, Location: c.Region, DurationSeconds: 3600,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sts.GetWithContext(nil)
	if err != nil {
		t.Fatalf("assume role: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"Code": "Success", "AccessKeyId": v.AccessKeyID, "SecretAccessKey": v.SecretAccessKey,
			"Token": v.SessionToken, "Expiration": time.Now().Add(time.Hour)})
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL)
	st, err := s3.Open(context.Background(), s3.Config{Endpoint: c.Endpoint, Bucket: bucket, Insecure: true, PathStyle: "on", Region: c.Region, UseIAM: true})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	return st
}

// TestDisposalPolicy runs destruction with nothing but the README's
// disposal policy: it destroys a record whose retention has ended, leaving
// nothing; without s3:BypassGovernanceRetention it cannot destroy one
// still retained, and with that statement added a rerun finishes it.
func TestDisposalPolicy(t *testing.T) {
	ctx := context.Background()
	root := miniotest.NewStore(t)
	bucket := root.Bucket()
	svc := service(t, root, nil)
	ended := file(t, svc, spec{title: "Ended", class: "100-01", files: map[string][]byte{"a.txt": []byte("a")}})
	retained := file(t, svc, spec{title: "Retained", class: "100-01"})
	expire(t, root, ended)

	policy := policyBlock(t, "<!-- disposal-iam-policy", bucket)
	st := storeAs(t, bucket, policy)
	rep, err := records.Destroy(ctx, st, authority(8), []string{ended.ID})
	if err != nil {
		t.Fatalf("Destroy with the disposal policy: %v", err)
	}
	if o := rep.Records[0]; o.Outcome != records.Destroyed || rep.CertificateJSON == "" {
		t.Fatalf("Destroy with the disposal policy = %+v, want destroyed with a certificate", rep)
	}
	if left := remaining(t, root, ended.Key); len(left) != 0 {
		t.Errorf("after Destroy, %q remain", left)
	}

	early := authority(8)
	early.BypassGovernance = true
	rep, err = records.Destroy(ctx, st, early, []string{retained.ID})
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Records[0]; o.OK() {
		t.Errorf("early Destroy without s3:BypassGovernanceRetention = %+v, want it refused or failed", o)
	} else {
		t.Logf("early Destroy without s3:BypassGovernanceRetention: %s: %s", o.Outcome, o.Detail)
	}
	if left := remaining(t, root, retained.Key); len(left) == 0 {
		t.Errorf("early Destroy without s3:BypassGovernanceRetention deleted the record")
	}

	var p map[string]any
	json.Unmarshal([]byte(policy), &p)
	p["Statement"] = append(p["Statement"].([]any), map[string]any{"Effect": "Allow", "Action": []string{"s3:BypassGovernanceRetention"},
		"Resource": []string{"arn:aws:s3:::" + bucket + "/records/*", "arn:aws:s3:::" + bucket + "/index/*"}})
	withBypass, _ := json.Marshal(p)
	st = storeAs(t, bucket, string(withBypass))
	rep, err = records.Destroy(ctx, st, early, []string{retained.ID})
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Records[0]; o.Outcome != records.Destroyed {
		t.Errorf("early Destroy with s3:BypassGovernanceRetention = %+v, want destroyed", o)
	}
	if left := remaining(t, root, retained.Key); len(left) != 0 {
		t.Errorf("after early Destroy, %q remain", left)
	}
}
