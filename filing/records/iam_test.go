package records_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// TestRecommendedBotPolicy runs the bot with nothing but the README's IAM
// policy (MinIO temporary credentials limited by it, handed to the bot as
// its IAM credentials) on a GOVERNANCE-mode bucket: it can file and verify
// records, and none of the ways to remove or unlock a record works for it.
// The root user, for contrast, can bypass governance: why the split matters.
func TestRecommendedBotPolicy(t *testing.T) {
	ctx := context.Background()
	bucket := miniotest.NewBucket(t, miniotest.Options{})
	st := storeAs(t, bucket, policyBlock(t, "<!-- bot-iam-policy", bucket))

	// The bot files, verifies and keeps its bookkeeping.
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan()})
	if err != nil {
		t.Fatal(err)
	}
	s := file(t, svc, spec{title: "Roads budget", files: map[string][]byte{"minutes.txt": []byte("Option B.")}})
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID})
	if err != nil || !res[0].OK() {
		t.Fatalf("Verify as the bot = %+v, %v; want a pass", res, err)
	}
	if _, err := st.Put(ctx, filing.RequestsPrefix+"pending/x.json", strings.NewReader("{}"), 2, filing.WriteOptions{}); err != nil {
		t.Fatalf("Put a request as the bot: %v", err)
	}
	if err := st.Delete(ctx, filing.RequestsPrefix+"pending/x.json"); err != nil {
		t.Fatalf("Delete a request as the bot: %v", err)
	}

	// Nothing it tries removes or unlocks a record.
	bot := st.Client() // the bot's own credentials
	first := func(key string) string {
		t.Helper()
		h, err := filing.HistoryOf(ctx, st, key)
		if err != nil {
			t.Fatal(err)
		}
		return h.First.ID
	}
	tag := s.Key + filing.TagManifestFile
	idx := filing.IndexPrefix + s.ID + ".json"
	ev := filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt)
	gov := minio.Governance
	soon := time.Now().Add(24 * time.Hour)
	var days uint = 1
	unit := minio.Days
	attempts := []struct {
		name string
		try  func() error
	}{
		{"delete the tag manifest's version with governance bypass", func() error {
			return bot.RemoveObject(ctx, bucket, tag, minio.RemoveObjectOptions{VersionID: first(tag), GovernanceBypass: true})
		}},
		{"delete the index entry's version with governance bypass", func() error {
			return bot.RemoveObject(ctx, bucket, idx, minio.RemoveObjectOptions{VersionID: first(idx), GovernanceBypass: true})
		}},
		{"delete the filing event's version with governance bypass", func() error {
			return bot.RemoveObject(ctx, bucket, ev, minio.RemoveObjectOptions{VersionID: first(ev), GovernanceBypass: true})
		}},
		{"delete a register's version (not locked)", func() error {
			if _, err := st.Put(ctx, filing.RegistersPrefix+"x.json", strings.NewReader("{}"), 2, filing.WriteOptions{}); err != nil {
				return err
			}
			return bot.RemoveObject(ctx, bucket, filing.RegistersPrefix+"x.json", minio.RemoveObjectOptions{VersionID: first(filing.RegistersPrefix + "x.json")})
		}},
		{"change the bucket's Object Lock configuration", func() error {
			return bot.SetObjectLockConfig(ctx, bucket, &gov, &days, &unit)
		}},
		{"suspend versioning", func() error { return bot.SuspendVersioning(ctx, bucket) }},
	}
	refused := 0
	for _, a := range attempts {
		err := a.try()
		if err == nil {
			t.Errorf("as the bot: %s succeeded, want it refused", a.name)
			continue
		}
		if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
			t.Errorf("as the bot: %s failed with %q (%v), want AccessDenied", a.name, code, err)
			continue
		}
		refused++
	}
	t.Logf("bot with the README policy: %d of %d attempts to remove or unlock a record refused (AccessDenied)", refused, len(attempts))
	if res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID}); err != nil || !res[0].OK() {
		t.Errorf("Verify after the attempts = %+v, %v; want the record intact", res, err)
	}

	// MinIO lets anyone with s3:PutObjectRetention (which the bot needs to
	// lock what it writes) shorten a GOVERNANCE retention by sending the
	// bypass header, without s3:BypassGovernanceRetention; AWS does not.
	// The README says so. Even then the bot cannot delete the version.
	err = bot.PutObjectRetention(ctx, bucket, tag, minio.PutObjectRetentionOptions{VersionID: first(tag), Mode: &gov, RetainUntilDate: &soon, GovernanceBypass: true})
	t.Logf("bot shortens a GOVERNANCE retention with the bypass header: err = %v", err)
	if err := bot.RemoveObject(ctx, bucket, tag, minio.RemoveObjectOptions{VersionID: first(tag), GovernanceBypass: true}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("as the bot: delete a version after shortening its retention: %v, want AccessDenied", err)
	}

	// Root-style credentials can bypass GOVERNANCE: the reason for the
	// split, and for COMPLIANCE mode.
	root := miniotest.Client(t)
	if err := root.RemoveObject(ctx, bucket, tag, minio.RemoveObjectOptions{VersionID: first(tag), GovernanceBypass: true}); err != nil {
		t.Errorf("root: delete a GOVERNANCE-locked version with bypass: %v, want it allowed", err)
	}
}

// In COMPLIANCE mode not even the root user can delete a record's version.
func TestComplianceRefusesRoot(t *testing.T) {
	ctx := context.Background()
	st := miniotest.NewStoreWith(t, miniotest.Options{LockMode: "COMPLIANCE"})
	svc, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan()})
	if err != nil {
		t.Fatal(err)
	}
	s := file(t, svc, spec{title: "Roads budget"})
	root := miniotest.Client(t)
	for _, key := range []string{s.Key + filing.TagManifestFile, filing.IndexPrefix + s.ID + ".json", filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt)} {
		h, err := filing.HistoryOf(ctx, st, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := root.RemoveObject(ctx, st.Bucket(), key, minio.RemoveObjectOptions{VersionID: h.First.ID, GovernanceBypass: true}); err == nil {
			t.Errorf("root: delete %s (COMPLIANCE) with bypass succeeded, want it refused", key)
		}
		comp, soon := minio.Compliance, time.Now().Add(24*time.Hour)
		if err := root.PutObjectRetention(ctx, st.Bucket(), key, minio.PutObjectRetentionOptions{VersionID: h.First.ID, Mode: &comp, RetainUntilDate: &soon, GovernanceBypass: true}); err == nil {
			t.Errorf("root: shorten the retention of %s (COMPLIANCE) succeeded, want it refused", key)
		}
		data := []byte("forged")
		if _, err := root.PutObject(ctx, st.Bucket(), key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A new version on top is still possible, and reported.
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(problems(res[0])); got != 3 {
		t.Errorf("Verify after three overwrites in COMPLIANCE mode: problems %q, want 3 tampered", problems(res[0]))
	}
}
