package records_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/bagcheck"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// authority is the disposal authority of the tests' runs, on a clock
// years ahead, so that records filed now are due.
func authority(years int) records.Disposal {
	now := time.Now().AddDate(years, 0, 0)
	return records.Disposal{Authority: "Disposal authority 2027/03", ApprovedBy: "Head of Information Governance",
		By: capture.Person{ID: "officer", DisplayName: "officer"}, Clock: clockwork.NewFakeClockAt(now),
		Signer: testSigner, Keys: testKeys}
}

// expire ends the Object Lock retention of every version of the records'
// objects and index entries, as time would: a bucket with Object Lock
// refuses a retention date in the past, so records are filed now and
// their retention is shortened (GOVERNANCE, with the bypass the test
// credentials hold) to a second from now. A no-op on a local store.
func expire(t testing.TB, st filing.Store, sums ...*filing.Summary) {
	t.Helper()
	ss, ok := st.(*s3.Store)
	if !ok {
		return
	}
	ctx := context.Background()
	var last time.Time
	mode := minio.Governance
	for _, s := range sums {
		for _, prefix := range []string{s.Key, filing.IndexPrefix + s.ID + ".json"} {
			for v, err := range ss.Versions(ctx, prefix) {
				if err != nil {
					t.Fatal(err)
				}
				if v.DeleteMarker {
					continue
				}
				// A second from each request, not from the first: on a
				// loaded machine a second can pass within the loop.
				until := time.Now().Add(time.Second).UTC()
				last = until
				if err := ss.Client().PutObjectRetention(ctx, ss.Bucket(), v.Key, minio.PutObjectRetentionOptions{
					Mode: &mode, RetainUntilDate: &until, VersionID: v.ID, GovernanceBypass: true}); err != nil {
					t.Fatalf("expire %s: %v", v.Key, err)
				}
			}
		}
	}
	time.Sleep(time.Until(last) + 100*time.Millisecond)
}

// remaining lists every object version left under prefix (every object,
// on a store without versions).
func remaining(t testing.TB, st filing.Store, prefix string) []string {
	t.Helper()
	var out []string
	if vs, ok := st.(filing.Versioner); ok {
		for v, err := range vs.Versions(context.Background(), prefix) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v.Key+"@"+v.ID)
		}
		return out
	}
	for oi, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, oi.Key)
	}
	return out
}

// outcomes maps each record's title to its outcome in rep.
func outcomes(rep *records.Report) map[string]string {
	m := map[string]string{}
	for _, o := range rep.Records {
		m[o.Title] = o.Outcome
	}
	return m
}

// filedEvent returns the filing event of record id.
func filedEvent(t testing.TB, st filing.Store, id string) filing.Event {
	t.Helper()
	evs, err := records.EventsOf(context.Background(), st, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs[id] {
		if e.Type == "filed" {
			return e
		}
	}
	t.Fatalf("record %s has no filing event", id)
	return filing.Event{}
}

func eventTypes(t testing.TB, st filing.Store, id string) []string {
	t.Helper()
	evs, err := records.EventsOf(context.Background(), st, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs[id] {
		out = append(out, e.Type)
	}
	return out
}

func TestDestroy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			// 100-01 keeps records 2 years from the end of the year, then
			// destroys them; 100-20 reviews them after 7 years; 200-20-02
			// after 15. The runs' clock is 8 years ahead.
			old := file(t, svc, spec{title: "Old correspondence", class: "100-01", files: map[string][]byte{"a.txt": []byte("a")}})
			held := file(t, svc, spec{title: "Held correspondence", class: "100-01"})
			review := file(t, svc, spec{title: "Committee minutes", class: "100-20"})
			young := file(t, svc, spec{title: "Contract", class: "200-20-02"})
			expire(t, st, old, held)
			if _, ok := st.(*s3.Store); ok {
				if _, err := records.Hold(ctx, st, nil, held.ID, true, "litigation 2026/4", capture.Person{ID: "officer"}); err != nil {
					t.Fatal(err)
				}
			}
			before := remaining(t, st, old.Key)

			// A dry run says what would go and changes nothing.
			dry := authority(8)
			dry.DryRun = true
			rep, err := records.Destroy(ctx, st, dry, nil)
			if err != nil {
				t.Fatalf("Destroy(dry run): %v", err)
			}
			if got := outcomes(rep); got["Old correspondence"] != records.WouldGo || rep.CertificateJSON != "" {
				t.Errorf("Destroy(dry run) = %v, certificate %q; want Old correspondence %q and no certificate", got, rep.CertificateJSON, records.WouldGo)
			}
			for _, o := range rep.Records {
				if o.ID == old.ID && len(o.Objects) != len(before)+1 { // and the index entry
					t.Errorf("Destroy(dry run) lists %d objects, want %d: %q", len(o.Objects), len(before)+1, o.Objects)
				}
			}
			if got := remaining(t, st, old.Key); !slices.Equal(got, before) {
				t.Errorf("after the dry run, objects = %q, want %q", got, before)
			}

			// Authority is required.
			if _, err := records.Destroy(ctx, st, records.Disposal{By: capture.Person{ID: "x"}}, nil); err == nil {
				t.Errorf("Destroy without authority: error = nil, want one")
			}

			rep, err = records.Destroy(ctx, st, authority(8), nil)
			if err != nil {
				t.Fatalf("Destroy: %v", err)
			}
			got := outcomes(rep)
			want := map[string]string{"Old correspondence": records.Destroyed, "Held correspondence": records.Destroyed}
			if _, ok := st.(*s3.Store); ok {
				want["Held correspondence"] = records.Refused
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Destroy = %v, want %v", got, want)
			}
			if left := remaining(t, st, old.Key); len(left) != 0 {
				t.Errorf("after Destroy, %s holds %q, want nothing", old.Key, left)
			}
			if left := remaining(t, st, filing.IndexPrefix+old.ID+".json"); len(left) != 0 {
				t.Errorf("after Destroy, its index entry holds %q, want nothing", left)
			}
			if l, ok := st.(*local.Store); ok {
				if _, err := os.Stat(l.Where(old.Key)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("after Destroy, the folder %s: %v, want it gone (its name holds the title)", old.Key, err)
				}
			}
			// What survives: the residual entry, with the seal it had.
			res, err := records.ResidualOf(ctx, st, testKeys, old.ID)
			if err != nil {
				t.Fatalf("ResidualOf: %v", err)
			}
			if res.Pending || res.Title != "Old correspondence" || res.ClassCode != "100-01" || res.Authority != "Disposal authority 2027/03" ||
				res.ApprovedBy != "Head of Information Governance" || res.By.ID != "officer" || res.FiledBy.ID != "U-carol" ||
				res.DisposalDate != old.DisposalDate.Format(time.DateOnly) || res.Rule == "" || res.Certificate != rep.Certificate.ID {
				t.Errorf("ResidualOf = %+v", res)
			}
			if fe := filedEvent(t, st, old.ID); res.TagManifestSHA256 != fe.TagManifestSHA256 {
				t.Errorf("ResidualOf.TagManifestSHA256 = %q, want the filing event's %q", res.TagManifestSHA256, fe.TagManifestSHA256)
			}
			if s := res.String(); !strings.HasPrefix(s, "destroyed on ") || !strings.HasSuffix(s, " under Disposal authority 2027/03") {
				t.Errorf("Residual.String() = %q", s)
			}
			if types := eventTypes(t, st, old.ID); !slices.Contains(types, "destroyed") || !slices.Contains(types, "filed") {
				t.Errorf("events of the destroyed record = %q, want filed and destroyed kept", types)
			}
			// The record left ls and due; ls --disposed shows it.
			es, err := records.List(ctx, st, records.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if ids := titles(es, func(e filing.IndexEntry) string { return e.ID }); slices.Contains(ids, old.ID) || !slices.Contains(ids, young.ID) {
				t.Errorf("List after Destroy = %q, want it without %s", ids, old.ID)
			}
			if _, err := records.Due(ctx, st, testKeys, time.Now()); err != nil {
				t.Errorf("Due after Destroy: %v", err)
			}
			rs, err := records.Residuals(ctx, st, testKeys)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(want)-countRefused(want) || rs[0].Pending {
				t.Errorf("Residuals = %+v, want %d done", rs, len(want)-countRefused(want))
			}
			// The certificate, JSON and CSV.
			var cert records.Certificate
			if err := json.Unmarshal(read(t, st, rep.CertificateJSON), &cert); err != nil {
				t.Fatal(err)
			}
			if cert.Authority != "Disposal authority 2027/03" || cert.ApprovedBy != "Head of Information Governance" || cert.By.ID != "officer" || len(cert.Records) != len(want) {
				t.Errorf("certificate = %+v", cert)
			}
			rows, err := csv.NewReader(bytes.NewReader(read(t, st, rep.CertificateCSV))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(want)+1 || rows[0][5] != "record_id" || !slices.ContainsFunc(rows, func(r []string) bool { return r[5] == old.ID && r[10] == records.Destroyed }) {
				t.Errorf("certificate CSV = %q", rows)
			}
			if st, ok := st.(*s3.Store); ok {
				// The held record is untouched: no residual, no pending marker.
				if _, err := records.ResidualOf(ctx, st, testKeys, held.ID); !errors.Is(err, filing.ErrNotExist) {
					t.Errorf("ResidualOf(held) error = %v, want ErrNotExist", err)
				}
				for _, o := range rep.Records {
					if o.ID == held.ID && !strings.Contains(o.Detail, "legal hold") {
						t.Errorf("held record's outcome = %+v, want the legal hold named", o)
					}
				}
			}
			// A record given by id that is due for review is refused; one
			// destroyed already is reported as such.
			rep, err = records.Destroy(ctx, st, authority(8), []string{review.ID, old.ID, young.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range rep.Records {
				if o.Outcome != records.Refused {
					t.Errorf("Destroy(%s) = %+v, want refused", o.Title, o)
				}
			}
			if d := rep.Records[0].Detail; !strings.Contains(d, "due for review") {
				t.Errorf("Destroy(review record) detail = %q", d)
			}
			if d := rep.Records[1].Detail; !strings.Contains(d, "already destroyed on") {
				t.Errorf("Destroy(destroyed record) detail = %q", d)
			}
			if d := rep.Records[2].Detail; !strings.Contains(d, "not due") {
				t.Errorf("Destroy(young record) detail = %q", d)
			}
		})
	}
}

func countRefused(m map[string]string) int {
	n := 0
	for _, v := range m {
		if v == records.Refused {
			n++
		}
	}
	return n
}

// TestDestroyRetention: a record due by its disposal date whose objects
// are still retained is refused, untouched; GOVERNANCE retention yields to
// --bypass-governance, COMPLIANCE to nothing.
func TestDestroyRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc := service(t, st, nil)
	// Both are due by the runs' clock, and still retained until their
	// disposal date by the store's.
	gov := file(t, svc, spec{title: "Governance", class: "100-01"})
	comp := file(t, svc, spec{title: "Compliance", class: "100-01"})
	cl := st.Client()
	retain := func(key string, mode minio.RetentionMode, until time.Time) {
		h, err := filing.HistoryOf(ctx, st, key)
		if err != nil {
			t.Fatal(err)
		}
		u := until.UTC()
		if err := cl.PutObjectRetention(ctx, st.Bucket(), key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &u, VersionID: h.First.ID, GovernanceBypass: true}); err != nil {
			t.Fatalf("retain %s: %v", key, err)
		}
	}
	// One object of the second is retained in COMPLIANCE mode.
	retain(comp.Key+filing.BagInfoFile, minio.Compliance, time.Now().Add(90*time.Second))
	before := remaining(t, st, gov.Key)

	rep, err := records.Destroy(ctx, st, authority(8), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(rep); got["Governance"] != records.Refused || got["Compliance"] != records.Refused {
		t.Fatalf("Destroy = %+v, want both refused", rep.Records)
	}
	for _, o := range rep.Records {
		want := map[string]string{"Governance": "--bypass-governance", "Compliance": "COMPLIANCE mode"}[o.Title]
		if !strings.Contains(o.Detail, want) {
			t.Errorf("Destroy(%s) detail = %q, want it to say %q", o.Title, o.Detail, want)
		}
	}
	if got := remaining(t, st, gov.Key); !slices.Equal(got, before) {
		t.Errorf("refused record's objects = %q, want untouched %q", got, before)
	}
	if rs, err := records.Residuals(ctx, st, testKeys); err != nil || len(rs) != 0 {
		t.Errorf("Residuals after refusals = %+v, %v; want none", rs, err)
	}

	bypass := authority(8)
	bypass.BypassGovernance = true
	rep, err = records.Destroy(ctx, st, bypass, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(rep); got["Governance"] != records.Destroyed || got["Compliance"] != records.Refused {
		t.Errorf("Destroy(--bypass-governance) = %v, want Governance destroyed, Compliance refused", got)
	}
	if left := remaining(t, st, gov.Key); len(left) != 0 {
		t.Errorf("after bypass, objects %q remain", left)
	}
	if left := remaining(t, st, comp.Key); len(left) == 0 {
		t.Errorf("the COMPLIANCE record was deleted")
	}
}

// failingS3 and failingLocal refuse every removal after the first n (left),
// like a process that dies between objects; with left below -1000 they
// remove everything and refuse to delete the pending markers.
type failingS3 struct {
	*s3.Store
	left *atomic.Int64
}

func (f failingS3) RemoveVersion(ctx context.Context, key, version string, bypass bool) error {
	if f.left.Add(-1) < 0 && f.left.Load() > -1000 {
		return errors.New("killed")
	}
	return f.Store.RemoveVersion(ctx, key, version, bypass)
}

// Delete fails for the pending marker when left is negative: a process
// killed after the last object went and before the marker did.
func (f failingS3) Delete(ctx context.Context, key string) error {
	if f.left.Load() < 0 && strings.HasPrefix(key, records.PendingPrefix) {
		return errors.New("killed")
	}
	return f.Store.Delete(ctx, key)
}

type failingLocal struct {
	*local.Store
	left *atomic.Int64
}

func (f failingLocal) Delete(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, filing.RecordsPrefix) && !strings.HasPrefix(key, filing.IndexPrefix) {
		if f.left.Load() < 0 && strings.HasPrefix(key, records.PendingPrefix) {
			return errors.New("killed")
		}
		return f.Store.Delete(ctx, key)
	}
	if f.left.Add(-1) < 0 && f.left.Load() > -1000 {
		return errors.New("killed")
	}
	return f.Store.Delete(ctx, key)
}

func TestDestroyInterrupted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			var ids []string
			for i := range 3 {
				s := file(t, svc, spec{title: fmt.Sprintf("Letter %d", i), class: "100-01",
					files: map[string][]byte{"a.txt": []byte("a"), "b.txt": []byte("b")}})
				expire(t, st, s)
				ids = append(ids, s.ID)
			}
			// Killed before the first deletion, after 5 and after 13
			// (within the first and the second record), and (-1000)
			// after every object but before the pending markers go.
			for _, n := range []int64{0, 5, 13, -1000} {
				left := &atomic.Int64{}
				left.Store(n)
				var broken filing.Store
				switch st := st.(type) {
				case *s3.Store:
					broken = failingS3{st, left}
				case *local.Store:
					broken = failingLocal{st, left}
				}
				d := authority(8)
				d.Parallel = 1
				rep, err := records.Destroy(ctx, broken, d, nil)
				if err != nil {
					t.Fatalf("Destroy(killed after %d): %v", n, err)
				}
				if rep.Problems() == 0 {
					t.Errorf("Destroy(killed after %d) = %+v, want a failure", n, rep.Records)
				}
			}
			rs, err := records.Residuals(ctx, st, testKeys)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(rs, func(r records.DisposedRecord) bool { return r.Pending }) {
				t.Fatalf("Residuals after the killed runs = %+v, want pending ones", rs)
			}
			rep, err := records.Destroy(ctx, st, authority(8), nil)
			if err != nil {
				t.Fatalf("Destroy(rerun): %v", err)
			}
			if rep.Problems() != 0 || len(rep.Records) == 0 {
				t.Errorf("Destroy(rerun) = %+v, want the unfinished records destroyed", rep.Records)
			}
			if left := remaining(t, st, filing.RecordsPrefix); len(left) != 0 {
				t.Errorf("after the rerun, %q remain (orphans)", left)
			}
			if left := remaining(t, st, filing.IndexPrefix); len(left) != 0 {
				t.Errorf("after the rerun, index entries %q remain", left)
			}
			rs, err = records.Residuals(ctx, st, testKeys)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				if r.Pending {
					t.Errorf("residual %s still pending", r.ID)
				}
				got = append(got, r.ID)
			}
			slices.Sort(got)
			slices.Sort(ids)
			if !slices.Equal(got, ids) {
				t.Errorf("residual entries = %q, want one per record %q", got, ids)
			}
			if n := len(remaining(t, st, records.DisposedPrefix)); n != 3 {
				t.Errorf("%d objects under %s, want 3", n, records.DisposedPrefix)
			}
		})
	}
}

// untar extracts a tar into a new local store, for bagcheck.
func untar(t testing.TB, r io.Reader) *local.Store {
	t.Helper()
	l := storetest.Local(t)
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return l
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Create(context.Background(), hdr.Name, tr, hdr.Size, filing.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEventsFile checks the events tag file of an exported package and
// that its tag manifest, last line dropped, is the one filed.
func checkEventsFile(t testing.TB, bag filing.Store, folder string, fe filing.Event) {
	t.Helper()
	var evs []filing.Event
	if err := json.Unmarshal(read(t, bag, folder+records.EventsFile), &evs); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e filing.Event) bool { return e.Type == "filed" && e.ID == fe.ID }) {
		t.Errorf("%s = %+v, want the filing event", records.EventsFile, evs)
	}
	tm := read(t, bag, folder+filing.TagManifestFile)
	lines := strings.SplitAfter(strings.TrimSuffix(string(tm), "\n"), "\n")
	if !strings.HasSuffix(lines[len(lines)-1], "  "+records.EventsFile) {
		t.Errorf("tag manifest's last line = %q, want the events file", lines[len(lines)-1])
	}
	sum := sha256.Sum256([]byte(strings.Join(lines[:len(lines)-1], "")))
	if hex.EncodeToString(sum[:]) != fe.TagManifestSHA256 {
		t.Errorf("tag manifest without its last line has SHA-256 %x, want the filed %s", sum, fe.TagManifestSHA256)
	}
}

func TestTransfer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := miniotest.NewStore(t)
	c := miniotest.Config(t)
	c.Bucket = miniotest.NewBucket(t, miniotest.Options{NoLock: true})
	archive, err := s3.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	svc := service(t, src, nil)
	// 100-40 transfers records 20 years after the end of their year.
	s := file(t, svc, spec{title: "Executive decision", class: "100-40", files: map[string][]byte{"plan.pdf": []byte("%PDF")}})
	expire(t, src, s)
	fe := filedEvent(t, src, s.ID)

	// A copy that does not match is caught before anything else happens.
	bad := corrupting{archive}
	rep, err := records.Transfer(ctx, src, authority(25), records.Destination{Store: bad, Prefix: "bad"}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Records[0]; o.Outcome != records.Failed || !strings.Contains(o.Detail, "manifest") {
		t.Errorf("Transfer(corrupted copy) = %+v, want failed against the manifests", o)
	}
	if types := eventTypes(t, src, s.ID); slices.Contains(types, "transferred") || len(remaining(t, src, s.Key)) == 0 {
		t.Errorf("after a corrupted copy: events %q, want no transfer and the record kept", types)
	}

	rep, err = records.Transfer(ctx, src, authority(25), records.Destination{Store: archive, Prefix: "accession-2027-01"}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Records[0]
	if o.Outcome != records.TransferredAndDestroyed {
		t.Fatalf("Transfer = %+v, want %q", o, records.TransferredAndDestroyed)
	}
	if left := remaining(t, src, s.Key); len(left) != 0 {
		t.Errorf("source objects %q remain after transfer and destruction", left)
	}
	res, err := records.ResidualOf(ctx, src, testKeys, s.ID)
	if err != nil || res.TransferredTo != o.Copy || !strings.HasPrefix(res.String(), "transferred to s3://") {
		t.Errorf("ResidualOf = %+v, %v; want transferred to %s", res, err, o.Copy)
	}
	if types := eventTypes(t, src, s.ID); !slices.Contains(types, "transferred") || !slices.Contains(types, "destroyed") {
		t.Errorf("events = %q, want transferred and destroyed", types)
	}
	// The copy in the archive bucket: a tar with its SHA-256 beside it,
	// which the independent bag checker accepts once extracted.
	folder := strings.TrimSuffix(s.Key[strings.LastIndexByte(strings.TrimSuffix(s.Key, "/"), '/')+1:], "/")
	key := "accession-2027-01/" + folder + ".tar"
	data := read(t, archive, key)
	sum := sha256.Sum256(data)
	if side := string(read(t, archive, key+".sha256")); side != hex.EncodeToString(sum[:])+"  "+folder+".tar\n" {
		t.Errorf("%s.sha256 = %q, want the tar's SHA-256 %x", key, side, sum)
	}
	bag := untar(t, bytes.NewReader(data))
	b, err := bagcheck.Check(ctx, bag, folder+"/")
	if err != nil {
		t.Fatalf("bagcheck of the transferred copy: %v", err)
	}
	if b.Tags[records.EventsFile] == "" || b.Payload["data/thread.json"] == "" {
		t.Errorf("transferred bag tags %v, payload %v; want the events file and the thread", b.Tags, b.Payload)
	}
	checkEventsFile(t, bag, folder+"/", fe)
}

// corrupting is a destination store that flips a bit of a message's
// text in every tar.
type corrupting struct{ filing.Store }

func (c corrupting) Create(ctx context.Context, key string, r io.Reader, size int64, o filing.WriteOptions) (filing.ObjectInfo, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return filing.ObjectInfo{}, err
	}
	if i := bytes.Index(data, []byte("Agreed.")); strings.HasSuffix(key, ".tar") && i >= 0 {
		data[i] ^= 1
	}
	return c.Store.Create(ctx, key, bytes.NewReader(data), int64(len(data)), o)
}

func TestTransferToFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := storetest.Local(t)
	dir := storetest.Local(t)
	s := file(t, service(t, src, nil), spec{title: "Executive decision", class: "100-40"})
	rep, err := records.Transfer(ctx, src, authority(25), records.Destination{Store: dir}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Records[0]; o.Outcome != records.Transferred {
		t.Fatalf("Transfer = %+v", o)
	}
	// Without --destroy-after the record stays, and a rerun reuses the
	// copy after checking it.
	if len(remaining(t, src, s.Key)) == 0 {
		t.Errorf("Transfer without destroy removed the record")
	}
	rep, err = records.Transfer(ctx, src, authority(25), records.Destination{Store: dir}, false, nil)
	if err != nil || rep.Records[0].Outcome != records.Transferred {
		t.Errorf("Transfer(again) = %+v, %v", rep.Records, err)
	}
}

func TestReview(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Local(t)
	svc := service(t, st, nil)
	keep := file(t, svc, spec{title: "Keep me", class: "100-20"})
	drop := file(t, svc, spec{title: "Drop me", class: "100-20"})
	before := remaining(t, st, keep.Key)
	until := time.Now().AddDate(11, 0, 0)
	rep, err := records.Review(ctx, st, authority(8), []string{keep.ID}, until, "still in use")
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Records[0]; o.Outcome != records.Kept || !strings.Contains(o.Detail, until.Format(time.DateOnly)) || rep.CertificateJSON == "" {
		t.Errorf("Review(keep) = %+v", rep)
	}
	if _, err := records.Review(ctx, st, authority(8), []string{drop.ID}, time.Time{}, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	rv, bad, err := records.Reviews(ctx, st, testKeys)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	if rv[keep.ID].KeepUntil != until.UTC().Format(time.DateOnly) || !rv[drop.ID].Destroy {
		t.Errorf("Reviews = %+v", rv)
	}
	if got := remaining(t, st, keep.Key); !slices.Equal(got, before) {
		t.Errorf("the kept record's package changed: %q, want %q", got, before)
	}
	if types := eventTypes(t, st, keep.ID); !slices.Contains(types, "disposal-review-keep") {
		t.Errorf("events = %q, want the review", types)
	}
	// `due` applies the decisions: the kept record is not listed, the
	// marked one is listed for destruction.
	groups, err := records.Due(ctx, st, testKeys, time.Now().AddDate(8, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]filing.DisposalAction{}
	for _, g := range groups {
		for _, r := range g.Records {
			listed[r.Title] = g.Action
		}
	}
	if _, ok := listed["Keep me"]; ok || listed["Drop me"] != filing.Destroy {
		t.Errorf("Due after review = %v, want only Drop me, for destruction", listed)
	}
	// The kept record is no longer due; the one marked is due for destruction.
	rep, err = records.Destroy(ctx, st, authority(8), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(rep); fmt.Sprint(got) != fmt.Sprint(map[string]string{"Drop me": records.Destroyed}) {
		t.Errorf("Destroy after review = %v, want only Drop me destroyed", got)
	}
	rep, err = records.Review(ctx, st, authority(8), []string{keep.ID}, time.Time{}, "")
	if err != nil || rep.Records[0].Outcome != records.Refused || !strings.Contains(rep.Records[0].Detail, "not due") {
		t.Errorf("Review(kept record) = %+v, %v; want refused as not due", rep.Records, err)
	}
}

func TestExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			a := file(t, svc, spec{title: "FOI minutes", files: map[string][]byte{"x.csv": []byte("1,2\n")}})
			b := file(t, svc, spec{title: "FOI letter"})
			dir := t.TempDir()
			res, err := records.Export(ctx, st, nil, []string{a.ID, b.ID}, filepath.Join(dir, "foi.tar"), capture.Person{ID: "officer"})
			if err != nil {
				t.Fatalf("Export(tar): %v", err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "foi.tar"))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if res.SHA256 != hex.EncodeToString(sum[:]) || len(res.Records) != 2 {
				t.Errorf("Export = %+v, want SHA-256 %x", res, sum)
			}
			bag := untar(t, bytes.NewReader(data))
			for _, r := range res.Records {
				if _, err := bagcheck.Check(ctx, bag, r.Folder+"/"); err != nil {
					t.Errorf("bagcheck of exported %s: %v", r.Folder, err)
				}
			}
			checkEventsFile(t, bag, res.Records[0].Folder+"/", filedEvent(t, st, a.ID))
			// A folder export, and nothing is overwritten.
			res, err = records.Export(ctx, st, nil, []string{a.ID}, filepath.Join(dir, "out"), capture.Person{ID: "officer"})
			if err != nil {
				t.Fatalf("Export(dir): %v", err)
			}
			folder, err := local.New(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bagcheck.Check(ctx, folder, res.Records[0].Folder+"/"); err != nil {
				t.Errorf("bagcheck of the exported folder: %v", err)
			}
			if _, err := records.Export(ctx, st, nil, []string{a.ID}, filepath.Join(dir, "foi.tar"), capture.Person{}); err == nil {
				t.Errorf("Export over an existing tar: error = nil, want one")
			}
			if types := eventTypes(t, st, a.ID); slices.Index(types, "exported") < 0 {
				t.Errorf("events = %q, want the export recorded", types)
			}
		})
	}
}
