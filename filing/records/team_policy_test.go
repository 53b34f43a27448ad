package records_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// teamMember is who acts in the records team tests.
var teamMember = capture.Person{ID: "jsmith", DisplayName: "jsmith", RealName: "Jo Smith"}

// TestRecordsTeamPolicy runs the records commands with nothing but the
// README's records team policy (as a MinIO user holding it): ls, show,
// find, due, verify and hold work; writing a record object, an index
// entry, a register or anything disposal keeps (reviews, residual
// entries, certificates, markers), and deleting anything, are refused,
// with s3:* granted beside the policy too.
func TestRecordsTeamPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := miniotest.Config(t)
	bucket := miniotest.NewBucket(t, miniotest.Options{})
	rootStore, err := s3.Open(ctx, s3.Config{Endpoint: c.Endpoint, Bucket: bucket, AccessKey: c.AccessKey, SecretKey: c.SecretKey,
		Insecure: true, PathStyle: "on", Region: c.Region})
	if err != nil {
		t.Fatal(err)
	}
	s := file(t, service(t, rootStore, records.RegisterUpdater(rootStore, nil)), spec{title: "Roads budget", people: []string{"bob"},
		real: map[string]string{"bob": "Bob Jones"}, texts: []string{"Option B."}})

	st := miniotest.StoreAs(t, bucket, miniotest.READMEPolicy(t, "<!-- records-team-policy", bucket))

	// What the team does.
	if err := records.CheckLayout(ctx, st); err != nil {
		t.Errorf("CheckLayout as the team: %v", err)
	}
	if es, err := records.List(ctx, st, records.Filter{}); err != nil || len(es) != 1 {
		t.Errorf("ls as the team = %d entries, %v; want 1", len(es), err)
	}
	if _, err := records.Unindexed(ctx, st); err != nil {
		t.Errorf("the unindexed check of ls as the team: %v", err)
	}
	if d, err := records.Show(ctx, st, filing.ShortID(s.ID)); err != nil || d.Record.ID != s.ID {
		t.Errorf("show as the team: %v", err)
	}
	if hits, not, err := records.Find(ctx, st, "bob jones", records.Filter{}); err != nil || len(hits) != 1 || len(not) != 0 {
		t.Errorf("find as the team = %+v, not searched %+v, %v; want 1 hit", hits, not, err)
	}
	if _, err := records.Due(ctx, st, testKeys, time.Now().AddDate(50, 0, 0)); err != nil {
		t.Errorf("due as the team: %v", err)
	}
	if lim, err := records.Limitation(ctx, st); err != nil {
		t.Errorf("verify's store check as the team: %v (%s)", err, lim)
	}
	if res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{s.ID}); err != nil || !res[0].OK() {
		t.Errorf("verify as the team = %+v, %v; want a pass", res, err)
	}
	if _, err := records.Hold(ctx, st, testSigner, s.ID, true, "FOI 2025/17", teamMember); err != nil {
		t.Errorf("hold --on as the team: %v", err)
	}
	if _, err := records.Hold(ctx, st, testSigner, s.ID, false, "FOI 2025/17 closed", teamMember); err != nil {
		t.Errorf("hold --off as the team: %v", err)
	}
	d, err := records.Show(ctx, st, s.ID)
	if err != nil || len(d.History) != 4 {
		t.Errorf("history after the team's verify and holds = %+v, %v; want filed, fixity check, hold on, hold off", d, err)
	}

	// And nothing else, even with a broader grant beside the policy: its
	// Deny statements hold.
	tag := s.Key + filing.TagManifestFile
	h, err := filing.HistoryOf(ctx, rootStore, tag)
	if err != nil {
		t.Fatal(err)
	}
	policy := miniotest.READMEPolicy(t, "<!-- records-team-policy", bucket)
	everything := `{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::` + bucket + `", "arn:aws:s3:::` + bucket + `/*"]}`
	for _, p := range []struct{ name, policy string }{
		{"the README policy", policy},
		{"the README policy beside s3:*", miniotest.WithStatement(t, policy, everything)},
	} {
		team := miniotest.StoreAs(t, bucket, p.policy).Client() // the team's own credentials
		put := func(key string) func() error {
			return func() error {
				_, err := team.PutObject(ctx, bucket, key, strings.NewReader("forged"), 6, minio.PutObjectOptions{})
				return err
			}
		}
		attempts := []struct {
			name string
			try  func() error
		}{
			{"write over a record object", put(s.Key + filing.TextFile)},
			{"add an object to a record", put(s.Key + "data/files/999_extra.txt")},
			{"write over an index entry", put(filing.IndexPrefix + s.ID + ".json")},
			{"write a register", put(filing.RegistersPrefix + "100-20.csv")},
			{"write a filing request", put(filing.RequestsPrefix + "pending/x.json")},
			{"write a disposal review", put(records.ReviewsPrefix + s.ID + "/forged.json")},
			{"write a residual entry", put(records.ResidualKey(s.ID))},
			{"write a disposal certificate", put(records.CertificatesPrefix + "2026/01/01/forged.json")},
			{"write a disposal marker", put(records.PendingPrefix + s.ID + ".json")},
			{"delete a record object (delete marker)", func() error { return team.RemoveObject(ctx, bucket, tag, minio.RemoveObjectOptions{}) }},
			{"delete a record object's version", func() error {
				return team.RemoveObject(ctx, bucket, tag, minio.RemoveObjectOptions{VersionID: h.First.ID, GovernanceBypass: true})
			}},
			{"delete a register", func() error {
				return team.RemoveObject(ctx, bucket, filing.RegistersPrefix+"100-20.csv", minio.RemoveObjectOptions{})
			}},
			{"suspend versioning", func() error { return team.SuspendVersioning(ctx, bucket) }},
		}
		for _, a := range attempts {
			err := a.try()
			if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
				t.Errorf("as the records team with %s: %s: %v (%q), want AccessDenied", p.name, a.name, err, code)
			}
		}
	}
	if res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: rootStore}).Verify(ctx, []string{s.ID}); err != nil || !res[0].OK() {
		t.Errorf("Verify after the team's attempts = %+v, %v; want the record intact", res, err)
	}
}
