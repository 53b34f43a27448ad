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
// policy (as a MinIO user holding it) on a GOVERNANCE-mode bucket: it can
// file, register and verify records, prove the lock and keep its
// bookkeeping, and none of the ways to remove or unlock a record works
// for it.
// The root user, for contrast, can bypass governance: why the split matters.
func TestRecommendedBotPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := miniotest.NewBucket(t, miniotest.Options{})
	st := miniotest.StoreAs(t, bucket, miniotest.READMEPolicy(t, "<!-- bot-iam-policy", bucket))

	// The bot files (and adds the record to its register), verifies,
	// proves the lock and keeps its bookkeeping.
	s := file(t, service(t, st, records.RegisterUpdater(st, nil)), spec{title: "Roads budget", files: map[string][]byte{"minutes.txt": []byte("Option B.")}})
	if _, err := st.Stat(ctx, filing.RegistersPrefix+"100-20.csv"); err != nil {
		t.Errorf("the register after filing as the bot: %v", err)
	}
	res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID})
	if err != nil || !res[0].OK() {
		t.Fatalf("Verify as the bot = %+v, %v; want a pass", res, err)
	}
	if err := st.ProveLock(ctx); err != nil {
		t.Errorf("ProveLock as the bot: %v", err)
	}
	for _, key := range []string{filing.RequestsPrefix + "pending/x.json", filing.InstallationsPrefix + "slack/T1.json"} {
		if _, err := st.Put(ctx, key, strings.NewReader("{}"), 2, filing.WriteOptions{}); err != nil {
			t.Fatalf("Put %s as the bot: %v", key, err)
		}
		if err := st.Delete(ctx, key); err != nil {
			t.Fatalf("Delete %s as the bot: %v", key, err)
		}
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
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStoreWith(t, miniotest.Options{LockMode: "COMPLIANCE"})
	s := file(t, service(t, st, nil), spec{title: "Roads budget"})
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

// TestBotPolicyWritesOnlyFiling holds the README's bot policy to what
// filing needs: with it the bot cannot write what the records team and
// the disposal principal keep (reviews, residual entries, certificates,
// disposal markers), nor lock or hold anything there or elsewhere, nor
// delete any version of a record object, an index entry or an audit
// event, even an unlocked one, nor hide them; and its explicit Deny
// statements hold when a broader grant (s3:* on the bucket) is added
// beside the policy.
func TestBotPolicyWritesOnlyFiling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := miniotest.NewStore(t)
	bucket := root.Bucket()
	s := file(t, service(t, root, nil), spec{title: "Roads budget"})
	// Unlocked versions under the bot's own prefixes, so that only the
	// policy, not the lock, can refuse to delete them; and a residual
	// entry as the disposal principal writes it, locked.
	gov, until := minio.Governance, time.Now().Add(time.Hour)
	versions := map[string]string{}
	for _, key := range []string{filing.RecordsPrefix + "x/unlocked.txt", filing.IndexPrefix + "unlocked.json",
		filing.AuditPrefix + "2026/01/01/unlocked.json", filing.RegistersPrefix + "unlocked.csv", records.ResidualKey("x")} {
		o := minio.PutObjectOptions{}
		if key == records.ResidualKey("x") {
			o.Mode, o.RetainUntilDate = gov, until
		}
		info, err := root.Client().PutObject(ctx, bucket, key, strings.NewReader("x"), 1, o)
		if err != nil {
			t.Fatal(err)
		}
		versions[key] = info.VersionID
	}
	bot := miniotest.READMEPolicy(t, "<!-- bot-iam-policy", bucket)
	hide := func(cl *minio.Client, key string) func() error {
		return func() error { return cl.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}) }
	}
	everything := `{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::` + bucket + `", "arn:aws:s3:::` + bucket + `/*"]}`
	for _, p := range []struct{ name, policy string }{
		{"the README policy", bot},
		{"the README policy beside s3:*", miniotest.WithStatement(t, bot, everything)},
	} {
		cl := miniotest.StoreAs(t, bucket, p.policy).Client()
		put := func(key string, o minio.PutObjectOptions) func() error {
			return func() error {
				_, err := cl.PutObject(ctx, bucket, key, strings.NewReader("forged"), 6, o)
				return err
			}
		}
		rmVersion := func(key string) func() error {
			return func() error {
				return cl.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: versions[key]})
			}
		}
		on := minio.LegalHoldEnabled
		held := minio.PutObjectOptions{LegalHold: on}
		later := until.Add(time.Hour)
		attempts := []struct {
			name string
			try  func() error
		}{
			{"create a review", put(records.ReviewsPrefix+s.ID+"/forged.json", minio.PutObjectOptions{})},
			{"create a residual entry", put(records.ResidualKey(s.ID), minio.PutObjectOptions{})},
			{"write over a residual entry", put(records.ResidualKey("x"), minio.PutObjectOptions{})},
			{"create a certificate", put(records.CertificatesPrefix+"2026/01/01/forged.json", minio.PutObjectOptions{})},
			{"create a disposal marker", put(records.PendingPrefix+s.ID+".json", minio.PutObjectOptions{})},
			{"create a disposal marker where older versions kept them", put(filing.RequestsPrefix+"disposal/"+s.ID+".json", minio.PutObjectOptions{})},
			{"hide a residual entry", hide(cl, records.ResidualKey("x"))},
			{"change a residual entry's retention", func() error {
				return cl.PutObjectRetention(ctx, bucket, records.ResidualKey("x"), minio.PutObjectRetentionOptions{
					VersionID: versions[records.ResidualKey("x")], Mode: &gov, RetainUntilDate: &later})
			}},
			{"put a legal hold on a record object", func() error {
				return cl.PutObjectLegalHold(ctx, bucket, s.Key+filing.TagManifestFile, minio.PutObjectLegalHoldOptions{Status: &on})
			}},
			{"write a record object under a legal hold", put(s.Key+"data/files/999_held.txt", held)},
			{"delete an unlocked record object's version", rmVersion(filing.RecordsPrefix + "x/unlocked.txt")},
			{"delete an unlocked index entry's version", rmVersion(filing.IndexPrefix + "unlocked.json")},
			{"delete an unlocked audit event's version", rmVersion(filing.AuditPrefix + "2026/01/01/unlocked.json")},
			{"delete a register's version", rmVersion(filing.RegistersPrefix + "unlocked.csv")},
			{"hide a record object", hide(cl, s.Key+filing.TagManifestFile)},
			{"hide an index entry", hide(cl, filing.IndexPrefix+s.ID+".json")},
			{"hide an audit event", hide(cl, filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt))},
		}
		for _, a := range attempts {
			err := a.try()
			if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
				t.Errorf("as the bot with %s: %s: %v (%q), want AccessDenied", p.name, a.name, err, code)
			}
		}
	}
	for key, id := range versions {
		if _, err := root.StatVersion(ctx, key, id); err != nil {
			t.Errorf("%s after the bot's attempts: %v, want it kept", key, err)
		}
	}
	if res, err := (&records.Verifier{Store: root}).Verify(ctx, []string{s.ID}); err != nil || !res[0].OK() {
		t.Errorf("Verify after the bot's attempts = %+v, %v; want the record intact", res, err)
	}
}
