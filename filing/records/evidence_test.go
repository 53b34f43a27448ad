package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/minio/minio-go/v7"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
	"github.com/recordbot/recordbot/internal/storetest"
)

// attacker is a signing key this deployment does not trust: one made by
// whoever holds the store's keys but not RECORDBOT_SECRET_KEY.
var attacker = mustSigner("someone else's secret, not ours!")

// verifier checks st as the deployment does: it signs its events with
// testSigner and trusts testKeys.
func verifier(st filing.Store) *records.Verifier {
	return &records.Verifier{Store: st, Signer: testSigner, Keys: testKeys}
}

// sealing says how fabricate signs what it makes up.
type sealing int

const (
	keepCopied sealing = iota // the copied signatures, left as they were
	unsigned                  // no signature
	ownKey                    // signed with attacker's key
	ourKey                    // signed with testSigner: what only the deployment can do
)

// fabricate makes up a record with nothing but the store's keys: every
// object of s copied to a new folder under a new UUIDv7 id, with
// record.json, bag-info.txt, both manifests, the index entry and the
// filing event rewritten to match, each a plain create. It returns the
// new record's id, folder and filing event key.
func fabricate(t *testing.T, st filing.Store, s *filing.Summary, seal sealing) (id, folder, evKey string) {
	t.Helper()
	ctx := context.Background()
	u, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	id = u.String()
	folder = strings.TrimSuffix(s.Key, filing.ShortID(s.ID)+"/") + filing.ShortID(id) + "/"
	swap := func(b []byte) []byte {
		b = bytes.ReplaceAll(b, []byte(s.ID), []byte(id))
		return bytes.ReplaceAll(b, []byte(s.Key), []byte(folder))
	}
	objects := make(map[string][]byte)
	for oi, err := range st.List(ctx, s.Key) {
		if err != nil {
			t.Fatal(err)
		}
		objects[strings.TrimPrefix(oi.Key, s.Key)] = swap(read(t, st, oi.Key))
	}
	// The manifests are recomputed from what is now in the folder.
	reseal := func(name string) {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(objects[name])), "\n") {
			_, path, _ := strings.Cut(l, " ")
			path = strings.TrimSpace(path)
			lines = append(lines, sum(objects[path])+"  "+path)
		}
		objects[name] = []byte(strings.Join(lines, "\n") + "\n")
	}
	reseal(filing.ManifestFile)
	reseal(filing.TagManifestFile)
	for path, data := range objects {
		if _, err := st.Create(ctx, folder+path, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
			t.Fatalf("create %s: %v", path, err)
		}
	}
	sign := func(kind string, v any, sig **filing.Signature) {
		switch seal {
		case unsigned:
			*sig = nil
		case ownKey:
			attacker.Sign(kind, v, sig)
		case ourKey:
			testSigner.Sign(kind, v, sig)
		}
	}
	var e filing.IndexEntry
	if err := json.Unmarshal(read(t, st, filing.IndexPrefix+s.ID+".json"), &e); err != nil {
		t.Fatal(err)
	}
	e.ID, e.Key = id, folder
	sign(filing.KindIndex, &e, &e.Signature)
	createJSON(t, st, filing.IndexPrefix+id+".json", e)
	var ev filing.Event
	if err := json.Unmarshal(read(t, st, filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt)), &ev); err != nil {
		t.Fatal(err)
	}
	ev.ID, ev.RecordID, ev.Key, ev.TagManifestSHA256 = id, id, folder, sum(objects[filing.TagManifestFile])
	sign(filing.KindEvent, &ev, &ev.Signature)
	evKey = filing.EventKey(ev, s.FiledAt)
	createJSON(t, st, evKey, ev)
	return id, folder, evKey
}

// createJSON creates key holding v as the bot writes JSON: a plain create.
func createJSON(t *testing.T, st filing.Store, key string, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(context.Background(), key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
		t.Fatalf("create %s: %v", key, err)
	}
	return data
}

// check verifies id alone, and then every record, and returns both
// results for id.
func check(t *testing.T, v *records.Verifier, id string) (one, all records.Result) {
	t.Helper()
	res, err := v.Verify(context.Background(), []string{id})
	if err != nil {
		t.Fatalf("Verify(%s): %v", id, err)
	}
	one = res[0]
	res, err = v.VerifyAll(context.Background())
	if err != nil {
		t.Fatalf("VerifyAll: %v", err)
	}
	return one, resultOf(t, res, id)
}

// hasNote reports whether r has a note containing s.
func hasNote(r records.Result, s string) bool {
	return slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, s) })
}

// A record made up with the store's keys alone is consistent in every
// checksum; only the signatures tell it from a record recordbot filed.
// Signed with the deployment's key, the same fabrication passes: it is the
// signature that catches it.
func TestVerifyFabricatedRecord(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := file(t, service(t, st, nil), spec{title: "Planning consent", texts: []string{"Consent granted."}})
			for _, c := range []struct {
				name   string
				seal   sealing
				forged bool
				detail string
			}{
				{"copied signatures", keepCopied, true, "does not match"},
				{"own key", ownKey, true, attacker.KeyID()},
				{"deployment's key", ourKey, false, ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					id, _, evKey := fabricate(t, st, s, c.seal)
					idxKey := filing.IndexPrefix + id + ".json"
					one, all := check(t, verifier(st), id)
					for _, r := range []records.Result{one, all} {
						var want []string
						if c.forged {
							want = []string{"forged " + evKey, "forged " + idxKey}
						}
						if got := problems(r); !slices.Equal(got, want) {
							t.Errorf("Verify(fabricated, %s) problems = %q, want %q", c.name, got, want)
						}
						for _, p := range r.Problems {
							if !strings.Contains(p.Detail, c.detail) || !strings.Contains(p.Detail, "not ") {
								t.Errorf("problem %s: detail %q, want it to say it is not the deployment's and contain %q", p.Path, p.Detail, c.detail)
							}
						}
					}
				})
			}
		})
	}
}

// A record filed before the deployment signed passes, with a note; an
// unsigned index entry beside a signed filing event (or the reverse) is a
// forgery; without trusted keys nothing is checked, and each result says
// so; without a signer verify writes no event.
func TestVerifyUnsignedRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			old, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council"})
			if err != nil {
				t.Fatal(err)
			}
			s := file(t, old, spec{title: "Before signing"})
			one, all := check(t, verifier(st), s.ID)
			for _, r := range []records.Result{one, all} {
				if !r.OK() || !hasNote(r, "unsigned (filed before signing)") {
					t.Errorf("Verify(unsigned record) = problems %q, notes %q; want a pass noting it is unsigned", problems(r), r.Notes)
				}
			}

			// Fabricated unsigned, beside a real record whose filing event
			// is signed: its index entry is swapped for an unsigned one.
			signed := file(t, service(t, st, nil), spec{title: "Signed"})
			idxKey := filing.IndexPrefix + signed.ID + ".json"
			var e filing.IndexEntry
			json.Unmarshal(read(t, st, idxKey), &e)
			e.Signature = nil
			erase(t, st, idxKey)
			createJSON(t, st, idxKey, e)
			one, all = check(t, verifier(st), signed.ID)
			for _, r := range []records.Result{one, all} {
				if got := problems(r); !slices.Equal(got, []string{"forged " + idxKey}) {
					t.Errorf("Verify(unsigned index entry, signed filing event) problems = %q, want %q", got, "forged "+idxKey)
				}
			}

			// And the reverse: a signed index entry beside an unsigned
			// filing event.
			signed = file(t, service(t, st, nil), spec{title: "Signed too"})
			evKey := filing.EventKey(filing.Event{ID: signed.ID, Type: "filed"}, signed.FiledAt)
			var ev filing.Event
			json.Unmarshal(read(t, st, evKey), &ev)
			ev.Signature = nil
			erase(t, st, evKey)
			createJSON(t, st, evKey, ev)
			one, all = check(t, verifier(st), signed.ID)
			for _, r := range []records.Result{one, all} {
				if got := problems(r); !slices.Equal(got, []string{"forged " + evKey}) {
					t.Errorf("Verify(signed index entry, unsigned filing event) problems = %q, want %q", got, "forged "+evKey)
				}
			}

			res, err := (&records.Verifier{Store: st}).Verify(ctx, []string{s.ID})
			if err != nil {
				t.Fatal(err)
			}
			if !hasNote(res[0], "signatures not checked") || res[0].Event != "" {
				t.Errorf("Verify without keys or signer: notes %q, event %q; want a note that signatures were not checked, and no event", res[0].Notes, res[0].Event)
			}
			for _, ev := range events(t, st, s.ID, "fixity-check") {
				if ev.Signature == nil {
					t.Errorf("an unsigned fixity-check event was written: %+v", ev)
				}
			}
		})
	}
}

// appendTo writes an event of record s after head (its Prev), signed by
// signer (nil: unsigned), at the given time; it returns the event's key
// and Sum.
func appendTo(t *testing.T, st filing.Store, s *filing.Summary, signer *filing.Signer, typ, head string, at time.Time) (string, string) {
	t.Helper()
	e, err := filing.WriteEvent(context.Background(), st, signer, filing.Event{Type: typ, At: at, RecordID: s.ID, Prev: head,
		By: capture.Person{ID: "officer"}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := filing.EventBytes(e)
	if err != nil {
		t.Fatal(err)
	}
	return filing.EventKey(e, e.At), filing.Sum(data)
}

// headOf returns the Sum of record s's latest event.
func headOf(t *testing.T, st filing.Store, s *filing.Summary) string {
	t.Helper()
	links, err := records.Chain(context.Background(), st, s.ID, s.FiledAt)
	if err != nil {
		t.Fatal(err)
	}
	return records.Head(links)
}

// Every event of a record is read: each must be signed by a trusted key
// and name the event before it; verify's own event joins the chain.
func TestVerifyChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			earlier, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council", Signer: testSigner,
				Clock: clockwork.NewFakeClockAt(time.Now().Add(-3 * time.Hour))})
			if err != nil {
				t.Fatal(err)
			}
			t.Run("intact", func(t *testing.T) {
				s := file(t, svc, spec{title: "Chain intact"})
				head := headOf(t, st, s)
				_, head = appendTo(t, st, s, testSigner, "legal-hold-on", head, time.Now())
				res, err := verifier(st).Verify(ctx, []string{s.ID})
				if err != nil || !res[0].OK() {
					t.Fatalf("Verify = %+v, %v; want a pass", res, err)
				}
				links, err := records.Chain(ctx, st, s.ID, s.FiledAt)
				if err != nil {
					t.Fatal(err)
				}
				last := links[len(links)-1].Event
				if last.Type != "fixity-check" || last.Prev != head || last.Signature == nil || last.Signature.Key != testSigner.KeyID() {
					t.Errorf("verify's event = %+v; want a fixity check naming %s before it, signed by %s", last, head, testSigner.KeyID())
				}
				if _, all := check(t, verifier(st), s.ID); !all.OK() {
					t.Errorf("VerifyAll after verify's own events: problems %q, want none", problems(all))
				}
			})
			for _, c := range []struct {
				name   string
				add    func(s *filing.Summary) (key string)
				kind   string
				detail string
			}{
				{"unsigned event", func(s *filing.Summary) string {
					k, _ := appendTo(t, st, s, nil, "legal-hold-off", headOf(t, st, s), time.Now())
					return k
				}, records.Forged, "not signed"},
				{"event signed by another key", func(s *filing.Summary) string {
					k, _ := appendTo(t, st, s, attacker, "legal-hold-off", headOf(t, st, s), time.Now())
					return k
				}, records.Forged, attacker.KeyID()},
				{"event before it missing", func(s *filing.Summary) string {
					k, _ := appendTo(t, st, s, testSigner, "legal-hold-off", sum([]byte("an event removed")), time.Now())
					return k
				}, records.Missing, "an event before this one is missing or was changed"},
				{"out of order", func(s *filing.Summary) string {
					now := time.Now() // the record was filed 3 hours ago

					_, later := appendTo(t, st, s, testSigner, "legal-hold-on", headOf(t, st, s), now.Add(-time.Hour))
					k, _ := appendTo(t, st, s, testSigner, "legal-hold-off", later, now.Add(-2*time.Hour))
					return k
				}, records.OutOfOrder, "written later"},
			} {
				t.Run(c.name, func(t *testing.T) {
					s := file(t, earlier, spec{title: "Chain " + c.name})
					key := c.add(s)
					one, all := check(t, verifier(st), s.ID)
					for _, r := range []records.Result{one, all} {
						if got, want := problems(r), []string{c.kind + " " + key}; !slices.Equal(got, want) {
							t.Errorf("Verify(%s) problems = %q, want %q", c.name, r.Problems, want)
						} else if !strings.Contains(r.Problems[0].Detail, c.detail) {
							t.Errorf("Verify(%s) detail = %q, want it to contain %q", c.name, r.Problems[0].Detail, c.detail)
						}
					}
				})
			}
			t.Run("two writers at once", func(t *testing.T) {
				s := file(t, svc, spec{title: "Chain forked"})
				head := headOf(t, st, s)
				appendTo(t, st, s, testSigner, "legal-hold-on", head, time.Now())
				appendTo(t, st, s, testSigner, "fixity-check", head, time.Now())
				one, all := check(t, verifier(st), s.ID)
				for _, r := range []records.Result{one, all} {
					if !r.OK() || !hasNote(r, "follow the same event") {
						t.Errorf("Verify(two events after one) = problems %q, notes %q; want a pass with a note", problems(r), r.Notes)
					}
				}
			})
			t.Run("events before chaining", func(t *testing.T) {
				old, err := filing.NewService(filing.Options{Store: st, Plan: filing.SamplePlan(), Organisation: "Example Council"})
				if err != nil {
					t.Fatal(err)
				}
				s := file(t, old, spec{title: "Chain before signing"})
				appendTo(t, st, s, nil, "legal-hold-on", "", time.Now())
				one, all := check(t, verifier(st), s.ID)
				for _, r := range []records.Result{one, all} {
					if !r.OK() || !hasNote(r, "before events were signed and chained") {
						t.Errorf("Verify(old events) = problems %q, notes %q; want a pass with a note", problems(r), r.Notes)
					}
				}
				// An unsigned event that names one before it was written
				// after chaining began: not by recordbot.
				k, _ := appendTo(t, st, s, nil, "legal-hold-off", headOf(t, st, s), time.Now())
				one, all = check(t, verifier(st), s.ID)
				for _, r := range []records.Result{one, all} {
					if got := problems(r); !slices.Equal(got, []string{"forged " + k}) {
						t.Errorf("Verify(unsigned chained event of an unsigned record) problems = %q, want %q", got, "forged "+k)
					}
				}
			})
		})
	}
}

// An event whose key names no record (as events were stored before keys
// named records) is read to know its record: verify --all finds it too.
func TestVerifyUnnamedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := file(t, service(t, st, nil), spec{title: "Unnamed event"})
			e := filing.Event{ID: "0190a000-0000-7000-8000-000000000001", Type: "legal-hold-off", At: time.Now().UTC(), RecordID: s.ID, Prev: headOf(t, st, s)}
			attacker.Sign(filing.KindEvent, &e, &e.Signature)
			key := fmt.Sprintf("%s%s/%s_legal-hold-off.json", filing.AuditPrefix, e.At.Format("2006/01/02"), e.ID)
			if _, named := filing.EventRecord(key); named {
				t.Fatalf("EventRecord(%s) names a record", key)
			}
			data, _ := filing.EventBytes(e)
			if _, err := st.Create(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			one, all := check(t, verifier(st), s.ID)
			for _, r := range []records.Result{one, all} {
				if got := problems(r); !slices.Equal(got, []string{"forged " + key}) {
					t.Errorf("Verify problems = %q, want %q", got, "forged "+key)
				}
			}
		})
	}
}

// Anything written over any audit event of a record is reported, not only
// over its filing event.
func TestVerifyOverwrittenEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	s := file(t, service(t, st, nil), spec{title: "Overwritten check"})
	res, err := verifier(st).Verify(ctx, []string{s.ID})
	if err != nil || res[0].Event == "" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	key := res[0].Event
	hide(t, st, key)
	one, all := check(t, verifier(st), s.ID)
	for _, r := range []records.Result{one, all} {
		if got := problems(r); !slices.Equal(got, []string{"tampered " + key}) {
			t.Errorf("Verify after hiding a fixity-check event: problems %q, want %q", got, "tampered "+key)
		}
	}
}

// shorten shortens the GOVERNANCE retention of key's first version, as the
// bot's own credentials can on MinIO (s3:PutObjectRetention and the bypass
// header).
func shorten(t *testing.T, st *s3.Store, key string, until time.Time) {
	t.Helper()
	ctx := context.Background()
	h, err := filing.HistoryOf(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	mode := minio.Governance
	err = miniotest.Client(t).PutObjectRetention(ctx, st.Bucket(), key, minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until, VersionID: h.First.ID, GovernanceBypass: true})
	if err != nil {
		t.Fatalf("shorten the retention of %s: %v", key, err)
	}
}

// A retention shortened below the record's disposal date, on any object
// verify reads, is tampering: once it passes the version can be removed.
// A legal hold keeps the object whatever its date.
func TestVerifyShortenedRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := miniotest.NewStore(t)
	svc := service(t, st, nil)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	for _, c := range []struct {
		name string
		key  func(*filing.Summary) string
	}{
		{"payload", func(s *filing.Summary) string { return s.Key + filing.TextFile }},
		{"tag file", func(s *filing.Summary) string { return s.Key + filing.RecordFile }},
		{"index entry", func(s *filing.Summary) string { return filing.IndexPrefix + s.ID + ".json" }},
		{"filing event", func(s *filing.Summary) string {
			return filing.EventKey(filing.Event{ID: s.ID, Type: "filed"}, s.FiledAt)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := file(t, svc, spec{title: "Shortened " + c.name})
			shorten(t, st, c.key(s), until)
			one, all := check(t, verifier(st), s.ID)
			for _, r := range []records.Result{one, all} {
				if got, want := problems(r), []string{"tampered " + strings.TrimPrefix(c.key(s), s.Key)}; !slices.Equal(got, want) {
					t.Errorf("Verify(%s retention shortened) problems = %q, want %q", c.name, got, want)
				} else if !strings.Contains(r.Problems[0].Detail, "retention shortened to "+until.Format(time.RFC3339)) {
					t.Errorf("detail = %q, want it to say the retention was shortened", r.Problems[0].Detail)
				}
			}
			if err := st.SetLegalHold(ctx, c.key(s), true); err != nil {
				t.Fatal(err)
			}
			if res, err := verifier(st).Verify(ctx, []string{s.ID}); err != nil || !res[0].OK() {
				t.Errorf("Verify(shortened, under legal hold) = %+v, %v; want a pass", res, err)
			}
		})
	}
}

// A record whose record.json was stored long after the time it says it was
// filed (made up and dated back) is reported on S3, whose write times
// nobody sets; a local file's time can be set, so there it is a note.
func TestVerifyBackdated(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := file(t, service(t, st, nil), spec{title: "Dated back", at: time.Date(2020, 5, 1, 9, 0, 0, 0, time.UTC)})
			one, all := check(t, verifier(st), s.ID)
			for _, r := range []records.Result{one, all} {
				switch name {
				case "s3":
					if got := problems(r); !slices.Equal(got, []string{"backdated " + filing.RecordFile}) ||
						!strings.Contains(r.Problems[0].Detail, "2020-05-01") {
						t.Errorf("Verify(backdated) = problems %+v, want backdated %s naming 2020-05-01", r.Problems, filing.RecordFile)
					}
				default:
					if !r.OK() || !hasNote(r, "2020-05-01") {
						t.Errorf("Verify(backdated, local) = problems %q, notes %q; want a pass with a note", problems(r), r.Notes)
					}
				}
			}
		})
	}
}

// Review decisions and residual entries decide a record's fate: each must
// be signed by a trusted key.
func TestVerifyReviewsAndResiduals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			review := func(id string, signer *filing.Signer) string {
				d := records.ReviewDecision{RecordID: id, Destroy: true, Authority: "DA 1", ApprovedBy: "head", By: "officer", At: time.Now().UTC()}
				if signer != nil {
					signer.Sign(filing.KindReview, &d, &d.Signature)
				}
				key := fmt.Sprintf("%s%s/%s.json", records.ReviewsPrefix, id, d.At.Format("20060102T150405.000000000Z"))
				createJSON(t, st, key, d)
				return key
			}
			residual := func(s *filing.Summary, signer *filing.Signer) string {
				r := records.Residual{IndexEntry: filing.IndexEntry{ID: s.ID, Key: s.Key, Title: s.Title, FiledAt: s.FiledAt},
					Authority: "DA 1", At: time.Now().UTC(), Action: "destroy", Certificate: "c1"}
				if signer != nil {
					signer.Sign(filing.KindResidual, &r, &r.Signature)
				}
				createJSON(t, st, records.ResidualKey(s.ID), r)
				return records.ResidualKey(s.ID)
			}

			live := file(t, svc, spec{title: "Reviewed"})
			review(live.ID, testSigner)
			forgedReview := review(live.ID, nil)
			forgedResidual := residual(live, attacker)
			one, all := check(t, verifier(st), live.ID)
			want := []string{"forged " + forgedResidual, "forged " + forgedReview}
			for _, r := range []records.Result{one, all} {
				if got := problems(r); !slices.Equal(got, want) {
					t.Errorf("Verify(live record, forged review and residual) problems = %q, want %q", got, want)
				}
				for _, p := range r.Problems {
					if p.Path == forgedResidual && !strings.Contains(p.Detail, "forged residual of a live record") {
						t.Errorf("residual problem detail %q, want it to say a live record has a forged residual", p.Detail)
					}
				}
			}

			pending := file(t, svc, spec{title: "Destruction unfinished"})
			residual(pending, testSigner)
			one, all = check(t, verifier(st), pending.ID)
			for _, r := range []records.Result{one, all} {
				if !r.OK() || !hasNote(r, "did not finish") {
					t.Errorf("Verify(record with a signed residual) = problems %q, notes %q; want a pass noting the unfinished destruction", problems(r), r.Notes)
				}
			}

			// Records that are gone: a forged residual, a review of a
			// record never destroyed by recordbot; a review of a record
			// recordbot destroyed is as it should be.
			gone := &filing.Summary{ID: "0190a000-0000-7000-8000-00000000aaaa", Key: "records/gone/", Title: "Gone"}
			goneResidual := residual(gone, nil)
			vanished := "0190a000-0000-7000-8000-00000000bbbb"
			vanishedReview := review(vanished, testSigner)
			destroyed := &filing.Summary{ID: "0190a000-0000-7000-8000-00000000cccc", Key: "records/destroyed/", Title: "Destroyed"}
			review(destroyed.ID, testSigner)
			residual(destroyed, testSigner)
			res, err := verifier(st).VerifyAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := problems(resultOf(t, res, gone.ID)); !slices.Equal(got, []string{"forged " + goneResidual}) {
				t.Errorf("VerifyAll: forged residual of a record not in the store: problems %q, want %q", got, "forged "+goneResidual)
			}
			if got := problems(resultOf(t, res, vanished)); !slices.Equal(got, []string{"missing " + vanishedReview}) {
				t.Errorf("VerifyAll: review of a record not in the store: problems %q, want %q", got, "missing "+vanishedReview)
			}
			for _, r := range res {
				if r.ID == destroyed.ID {
					t.Errorf("VerifyAll reported the destroyed record: %+v", r)
				}
			}
		})
	}
}

// listFails is a store whose listings of prefix fail.
type listFails struct {
	filing.Store
	prefix string
}

func (l listFails) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	if strings.HasPrefix(prefix, l.prefix) {
		return func(yield func(filing.ObjectInfo, error) bool) { yield(filing.ObjectInfo{}, errUnreachable) }
	}
	return l.Store.List(ctx, prefix)
}

// verify --all that could not list the audit trail, the review decisions
// or the residual entries says so, even with no record to check.
func TestVerifyEachListingFails(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{filing.AuditPrefix, records.ReviewsPrefix, records.DisposedPrefix} {
		st := storetest.Local(t)
		err := verifier(listFails{Store: st, prefix: prefix}).VerifyEach(context.Background(), func(records.Result) error { return nil })
		if !errors.Is(err, errUnreachable) {
			t.Errorf("VerifyEach with the listing of %s failing = %v, want the store's error", prefix, err)
		}
	}
}

// A record fabricated with the store's keys and left unsigned passes as
// one filed before signing only if it was stored before the deployment
// began signing every record; stored after, it is reported as forged, by
// verify and by disposal.
func TestUnsignedAfterSigningSince(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := file(t, service(t, st, nil), spec{title: "Routine letter", class: "100-01"})
			id, _, evKey := fabricate(t, st, s, unsigned)
			before := verifier(st)
			before.SignedSince = time.Now().Add(time.Hour) // signing began later: a record filed before it
			after := verifier(st)
			after.SignedSince = time.Now().Add(-time.Hour)

			one, all := check(t, before, id)
			for _, r := range []records.Result{one, all} {
				if !r.OK() || !hasNote(r, "unsigned (filed before signing)") {
					t.Errorf("Verify(unsigned, stored before signing began) = %q, notes %q; want a pass with a note", problems(r), r.Notes)
				}
			}
			one, all = check(t, after, id)
			for _, r := range []records.Result{one, all} {
				if got := problems(r); !slices.Contains(got, "forged "+evKey) {
					t.Errorf("Verify(unsigned, stored after signing began) problems = %q, want %q", got, "forged "+evKey)
				}
			}

			d := authority(30)
			d.AllowUnsigned = true
			d.SignedSince = time.Now().Add(-time.Hour)
			_, d.BypassGovernance = st.(*s3.Store)
			rep, err := records.Destroy(ctx, st, d, []string{id})
			if err != nil {
				t.Fatal(err)
			}
			wantTampered(t, rep, id, evKey)
		})
	}
}
