package records_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// TestDisposalPolicy runs disposal with nothing but the README's
// disposal policy (a MinIO user holding it): review, destroy and
// transfer with --destroy-after work, leaving nothing of the records
// destroyed, and the registers are updated; it cannot write a record
// object or an index entry; without s3:BypassGovernanceRetention it
// cannot destroy a record still retained, and with that statement added a
// rerun finishes it.
func TestDisposalPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := miniotest.NewStore(t)
	bucket := root.Bucket()
	svc := service(t, root, nil)
	ended := file(t, svc, spec{title: "Ended", class: "100-01", files: map[string][]byte{"a.txt": []byte("a")}})
	retained := file(t, svc, spec{title: "Retained", class: "100-01"})
	reviewed := file(t, svc, spec{title: "Reviewed", class: "100-20"})
	archived := file(t, svc, spec{title: "Executive decision", class: "100-40"})
	expire(t, root, ended, reviewed, archived)

	policy := miniotest.READMEPolicy(t, "<!-- disposal-iam-policy", bucket)
	st := miniotest.StoreAs(t, bucket, policy)

	rep, err := records.Review(ctx, st, authority(8), []string{reviewed.ID}, time.Time{}, "superseded")
	if err != nil {
		t.Fatalf("Review with the disposal policy: %v", err)
	}
	if o := rep.Records[0]; o.Outcome != records.Marked || rep.CertificateJSON == "" {
		t.Fatalf("Review with the disposal policy = %+v, want marked for destruction with a certificate", rep)
	}
	rep, err = records.Destroy(ctx, st, authority(8), []string{ended.ID, reviewed.ID})
	if err != nil {
		t.Fatalf("Destroy with the disposal policy: %v", err)
	}
	for _, o := range rep.Records {
		if o.Outcome != records.Destroyed || rep.CertificateJSON == "" {
			t.Errorf("Destroy with the disposal policy: %+v, want destroyed with a certificate", o)
		}
	}
	rep, err = records.Transfer(ctx, st, authority(25), records.Destination{Store: storetest.Local(t)}, true, []string{archived.ID})
	if err != nil {
		t.Fatalf("Transfer with the disposal policy: %v", err)
	}
	if o := rep.Records[0]; o.Outcome != records.TransferredAndDestroyed {
		t.Errorf("Transfer --destroy-after with the disposal policy = %+v, want %q", o, records.TransferredAndDestroyed)
	}
	for _, s := range []*filing.Summary{ended, reviewed, archived} {
		if left := remaining(t, root, s.Key); len(left) != 0 {
			t.Errorf("after disposal of %q, %q remain", s.Title, left)
		}
	}
	if _, err := records.WriteRegisters(ctx, st, testKeys, nil); err != nil {
		t.Errorf("update the registers after disposal with the disposal policy: %v", err)
	}
	for _, key := range []string{retained.Key + filing.TextFile, filing.IndexPrefix + retained.ID + ".json"} {
		_, err := st.Client().PutObject(ctx, bucket, key, strings.NewReader("forged"), 6, minio.PutObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
			t.Errorf("write %s with the disposal policy: %v (%q), want AccessDenied", key, err, code)
		}
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

	st = miniotest.StoreAs(t, bucket, miniotest.WithStatement(t, policy, `{"Effect": "Allow", "Action": ["s3:BypassGovernanceRetention"],
		"Resource": ["arn:aws:s3:::`+bucket+`/records/*", "arn:aws:s3:::`+bucket+`/index/*"]}`))
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
