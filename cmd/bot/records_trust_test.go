package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// Index entries planted by a writer holding the bot's keys (on MinIO, a
// user holding exactly the README's bot policy): a record never filed,
// one naming a real record's folder, and (on the local store, where an
// entry can be written over) a real record's entry rewritten to another
// class and disposal date. `records ls`, `due` and `show` mark them NOT
// TRUSTED, do not count or list them as records or as due, and exit 1.
func TestRecordsListDueShowMarkPlantedEntries(t *testing.T) {
	t.Parallel()
	// Signing began yesterday: an unsigned entry stored today was not
	// written by this deployment.
	since := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	envs, bucket := attackEnvs(t, map[string]string{"RECORDBOT_SIGNED_SINCE": since})
	ctx := context.Background()
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			st, writer := attackStores(t, name, env, bucket)
			genuine := fileAt(t, st, "100-01", "Genuine letter", time.Now())
			minutes := fileAt(t, st, "100-30", "Permanent minutes", time.Now())

			put := func(key string, v any) {
				t.Helper()
				data, _ := json.Marshal(v)
				if _, err := writer.Create(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/json"}); err != nil {
					t.Fatalf("plant %s with the bot's keys: %v", key, err)
				}
			}
			newID := func() string {
				u, err := uuid.NewV7()
				if err != nil {
					t.Fatal(err)
				}
				return u.String()
			}
			fake, other := newID(), newID()
			put(filing.IndexPrefix+fake+".json", filing.IndexEntry{ID: fake, Key: "records/100_Administration/2018/2018-01-01_Fake_" + filing.ShortID(fake) + "/",
				Title: "Never filed", ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy, FiledAt: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)})
			put(filing.IndexPrefix+other+".json", filing.IndexEntry{ID: other, Key: minutes.Key, Title: "Old junk",
				ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy, FiledAt: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)})
			planted := []string{fake, other}
			if name == "local" {
				// Written over: the entry keeps its signature, which no
				// longer matches.
				p := filepath.Join(env["RECORDS_DIR"], "index", minutes.ID+".json")
				var e filing.IndexEntry
				raw, err := os.ReadFile(p)
				if err == nil {
					err = json.Unmarshal(raw, &e)
				}
				if err != nil {
					t.Fatal(err)
				}
				e.ClassCode, e.DisposalDate, e.DisposalAction = "100-01", "2021-12-31", filing.Destroy
				os.Chmod(p, 0o644)
				os.Remove(p)
				put(filing.IndexPrefix+minutes.ID+".json", e)
				planted = append(planted, minutes.ID)
			}

			for _, args := range [][]string{{"records", "ls"}, {"records", "ls", "--check"}} {
				out, stderr, code := runBot(t, env, args...)
				if code != 1 {
					t.Errorf("bot %s with planted entries: exit %d, want 1; stderr %q", strings.Join(args, " "), code, stderr)
				}
				for _, id := range planted {
					if !lineWith(out, id, "NOT TRUSTED") || !strings.Contains(stderr, "not trusted: "+id+": ") {
						t.Errorf("bot %s: entry %s not marked NOT TRUSTED; stdout %q stderr %q", strings.Join(args, " "), id, out, stderr)
					}
				}
				if !lineWith(out, genuine.ID, "Genuine letter") || lineWith(out, genuine.ID, "NOT TRUSTED") {
					t.Errorf("bot %s: genuine record not listed plain: %q", strings.Join(args, " "), out)
				}
				records := 2 - (len(planted) - 2) // the rewritten record is not counted
				if want := plural(records, "record", "records") + ", and " + plural(len(planted), "index entry", "index entries"); !strings.Contains(out, want) {
					t.Errorf("bot %s: output %q, want the count %q", strings.Join(args, " "), out, want)
				}
			}

			// Signing not yet begun, as far as the command knows: the
			// unsigned entries pass the signature check ls makes by
			// default, and --check still finds them out.
			early := maps.Clone(env)
			early["RECORDBOT_SIGNED_SINCE"] = time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
			out, stderr, code := runBot(t, early, "records", "ls", "--check")
			for _, id := range planted {
				if code != 1 || !lineWith(out, id, "NOT TRUSTED") {
					t.Errorf("bot records ls --check, signing begun later: entry %s not marked NOT TRUSTED: exit %d, stdout %q stderr %q", id, code, out, stderr)
				}
			}

			out, stderr, code = runBot(t, env, "records", "due", "--before", "2999")
			dueList, notTrusted, _ := strings.Cut(out, "NOT TRUSTED (")
			if code != 1 || !strings.Contains(stderr, "NOT TRUSTED, not listed as due") {
				t.Errorf("bot records due with planted entries: exit %d, stderr %q; want 1 and the entries named", code, stderr)
			}
			for _, id := range planted {
				if strings.Contains(dueList, id) || !strings.Contains(notTrusted, id) {
					t.Errorf("bot records due: entry %s listed as due, or not as NOT TRUSTED: %q", id, out)
				}
			}
			if !strings.Contains(dueList, genuine.ID) {
				t.Errorf("bot records due: the genuine record is not due: %q", out)
			}

			// --json keeps its array of groups, without them; they are
			// named on standard error.
			out, stderr, code = runBot(t, env, "records", "due", "--before", "2999", "--json")
			var gs []records.DueGroup
			if err := json.Unmarshal([]byte(out), &gs); err != nil || code != 1 || len(gs) != 1 || len(gs[0].Records) != 1 || gs[0].Records[0].ID != genuine.ID {
				t.Errorf("bot records due --json: exit %d, %v, groups %+v; want 1 and the genuine record alone", code, err, gs)
			}
			for _, id := range planted {
				if !strings.Contains(stderr, "not trusted: "+id+": ") {
					t.Errorf("bot records due --json: stderr %q does not name entry %s", stderr, id)
				}
			}
			// With no key configured nothing can be checked, and it says so.
			nokey := maps.Clone(env)
			delete(nokey, "RECORDBOT_SECRET_KEY")
			if _, stderr, _ := runBot(t, nokey, "records", "ls"); !strings.Contains(stderr, "warning: no key to check the index entries with") {
				t.Errorf("bot records ls without a key: stderr %q, want the warning that nothing is checked", stderr)
			}

			for _, id := range []string{fake, other} {
				out, _, code := runBot(t, env, "records", "show", id)
				if code != 1 || !strings.Contains(out, "NOT TRUSTED: the index entry of record "+id) || !strings.Contains(out, "No record as filed is there to show") ||
					strings.Contains(out, "Permanent minutes") {
					t.Errorf("bot records show (planted %s): exit %d, output %q; want 1, NOT TRUSTED and no record shown", id, code, out)
				}
			}
			if name == "local" {
				out, _, code := runBot(t, env, "records", "show", minutes.ID)
				if code != 1 || !strings.Contains(out, "Index entry:       NOT TRUSTED: ") || !strings.Contains(out, "Disposal:          none: kept permanently") ||
					!strings.Contains(out, "It claims:         class 100-01, filed ") {
					t.Errorf("bot records show (rewritten entry): exit %d, output %q; want 1, the record as filed and the entry's claim", code, out)
				}
			}
			if out, stderr, code := runBot(t, env, "records", "show", genuine.ID); code != 0 || strings.Contains(out, "NOT TRUSTED") {
				t.Errorf("bot records show (genuine): exit %d, output %q, stderr %q; want 0, trusted", code, out, stderr)
			}
		})
	}
}

// lineWith reports whether a line of out holds all of parts.
func lineWith(out string, parts ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}
