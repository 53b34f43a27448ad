package records_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// tamper changes the object at key behind the bot's back: it writes data
// over it, or removes it when data is nil. On S3 it goes round Object
// Lock the way an administrator could: a new version over the key, or
// removing the version itself with governance bypass.
func tamper(t *testing.T, st filing.Store, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	switch s := st.(type) {
	case *local.Store:
		p := s.Where(key)
		if data == nil {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return
		}
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	case *s3.Store:
		cl := miniotest.Client(t)
		if data == nil {
			oi, err := cl.StatObject(ctx, s.Bucket(), key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatalf("stat %s: %v", key, err)
			}
			err = cl.RemoveObject(ctx, s.Bucket(), key, minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true})
			if err != nil {
				t.Fatalf("remove %s with governance bypass: %v", key, err)
			}
			return
		}
		if _, err := cl.PutObject(ctx, s.Bucket(), key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("overwrite %s: %v", key, err)
		}
	default:
		t.Fatalf("tamper: unknown store %T", st)
	}
}

func read(t testing.TB, st filing.Store, key string) []byte {
	t.Helper()
	return storetest.Read(t, st, key)
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// events returns the audit events of type typ for record id.
func events(t *testing.T, st filing.Store, id, typ string) []filing.Event {
	t.Helper()
	var out []filing.Event
	for oi, err := range st.List(context.Background(), filing.AuditPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		var e filing.Event
		if err := json.Unmarshal(read(t, st, oi.Key), &e); err != nil {
			t.Fatalf("event %s: %v", oi.Key, err)
		}
		if e.RecordID == id && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const attachment = "data/files/001_minutes.txt"
	tests := []struct {
		name string
		// tamper alters the record at key (its folder).
		tamper func(t *testing.T, st filing.Store, key string)
		want   []string // "kind path", sorted by path
		// s3 is what the S3 store reports when it differs: it keeps the
		// version filed, so a rewrite is tampering, not an alteration.
		s3 []string
	}{
		{"clean", func(*testing.T, filing.Store, string) {}, nil, nil},
		{"altered attachment", func(t *testing.T, st filing.Store, key string) {
			tamper(t, st, key+attachment, []byte("Minutes: option A was agreed."))
		}, []string{"altered " + attachment}, []string{"tampered " + attachment}},
		{"altered transcript", func(t *testing.T, st filing.Store, key string) {
			tamper(t, st, key+filing.TextFile, []byte("nothing happened"))
		}, []string{"altered " + filing.TextFile}, []string{"tampered " + filing.TextFile}},
		{"deleted attachment", func(t *testing.T, st filing.Store, key string) {
			tamper(t, st, key+attachment, nil)
		}, []string{"missing " + attachment}, nil},
		{"deleted tag manifest", func(t *testing.T, st filing.Store, key string) {
			tamper(t, st, key+filing.TagManifestFile, nil)
		}, []string{"missing " + filing.TagManifestFile}, nil},
		{"extra object", func(t *testing.T, st filing.Store, key string) {
			if _, err := st.Create(context.Background(), key+"data/files/002_later.txt", strings.NewReader("added later"), 11, filing.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, []string{"extra data/files/002_later.txt"}, nil},
		{"altered record.json", func(t *testing.T, st filing.Store, key string) {
			b := bytes.Replace(read(t, st, key+filing.RecordFile), []byte("OFFICIAL"), []byte("UNMARKED"), 1)
			tamper(t, st, key+filing.RecordFile, b)
		}, []string{"altered " + filing.RecordFile}, []string{"tampered " + filing.RecordFile}},
		{"resealed: payload and both manifests rewritten to match", func(t *testing.T, st filing.Store, key string) {
			forged := []byte("Minutes: option A was agreed.")
			tamper(t, st, key+attachment, forged)
			man := string(read(t, st, key+filing.ManifestFile))
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(man), "\n") {
				if strings.HasSuffix(l, attachment) {
					l = sum(forged) + "  " + attachment
				}
				lines = append(lines, l)
			}
			newMan := []byte(strings.Join(lines, "\n") + "\n")
			tamper(t, st, key+filing.ManifestFile, newMan)
			tag := string(read(t, st, key+filing.TagManifestFile))
			lines = nil
			for _, l := range strings.Split(strings.TrimSpace(tag), "\n") {
				if strings.HasSuffix(l, " "+filing.ManifestFile) {
					l = sum(newMan) + "  " + filing.ManifestFile
				}
				lines = append(lines, l)
			}
			tamper(t, st, key+filing.TagManifestFile, []byte(strings.Join(lines, "\n")+"\n"))
		}, []string{"altered " + filing.TagManifestFile},
			[]string{"tampered " + attachment, "tampered " + filing.ManifestFile, "tampered " + filing.TagManifestFile}},
	}
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			// A bystander record that must keep passing.
			other := file(t, svc, spec{title: "Other business"})
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					s := file(t, svc, spec{title: "Budget " + tc.name, files: map[string][]byte{"minutes.txt": []byte("Minutes: option B was agreed.")}})
					tc.tamper(t, st, s.Key)
					v := &records.Verifier{Signer: testSigner, Keys: testKeys, Store: st, By: capture.Person{ID: "officer", DisplayName: "officer"}}
					res, err := v.Verify(ctx, []string{s.ID, other.ID})
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if len(res) != 2 {
						t.Fatalf("Verify returned %d results, want 2", len(res))
					}
					var got []string
					for _, p := range res[0].Problems {
						got = append(got, p.Kind+" "+p.Path)
					}
					want := tc.want
					if tc.s3 != nil && name == "s3" {
						want = tc.s3
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("Verify(%s) problems = %q, want %q", tc.name, got, want)
					}
					if !res[1].OK() {
						t.Errorf("Verify(untouched record) problems = %v, want none", res[1].Problems)
					}
					if res[0].OK() != (tc.want == nil) {
						t.Errorf("Result.OK() = %v, want %v", res[0].OK(), tc.want == nil)
					}
					wantOutcome := "pass"
					if tc.want != nil {
						wantOutcome = "fail"
					}
					evs := events(t, st, s.ID, "fixity-check")
					if len(evs) != 1 || evs[0].Outcome != wantOutcome || evs[0].By.ID != "officer" {
						t.Errorf("fixity-check events of %s = %+v, want one with outcome %q by officer", s.ID, evs, wantOutcome)
					}
				})
			}
			t.Run("all", func(t *testing.T) {
				v := &records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}
				var last records.Progress
				v.Progress = func(p records.Progress) { last = p }
				res, err := v.VerifyAll(ctx)
				if err != nil {
					t.Fatalf("VerifyAll: %v", err)
				}
				if len(res) != len(tests)+1 {
					t.Fatalf("VerifyAll checked %d records, want %d", len(res), len(tests)+1)
				}
				failed := 0
				for _, r := range res {
					if !r.OK() {
						failed++
					}
				}
				if failed != len(tests)-1 {
					t.Errorf("VerifyAll failed %d records, want %d", failed, len(tests)-1)
				}
				if last.Done != len(res) || last.Total != len(res) || last.Failed != failed || last.Bytes == 0 {
					t.Errorf("last progress = %+v, want %d done of %d, %d failed, bytes > 0", last, len(res), len(res), failed)
				}
			})
			t.Run("each stops when told", func(t *testing.T) {
				stop := errors.New("the officer's terminal went away")
				calls := 0
				err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st, Parallel: 2}).VerifyEach(ctx, func(records.Result) error {
					calls++
					return stop
				})
				if !errors.Is(err, stop) || calls != 1 {
					t.Errorf("VerifyEach with a failing fn = %v after %d calls, want its error after 1", err, calls)
				}
			})
			t.Run("unknown id", func(t *testing.T) {
				res, err := (&records.Verifier{Signer: testSigner, Keys: testKeys, Store: st}).Verify(ctx, []string{"no-such-id"})
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if len(res) != 1 || res[0].OK() || res[0].Problems[0].Kind != records.Missing {
					t.Errorf("Verify(unknown) = %+v, want one failed result with a missing problem", res)
				}
			})
		})
	}
}
