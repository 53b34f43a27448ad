package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// Index entries planted by a writer holding the bot's keys (on MinIO, a
// user holding exactly the README's bot policy), as in
// TestRecordsListDueShowMarkPlantedEntries: `records register` leaves
// them out of the registers, names them on standard error and exits 1.
func TestRecordsRegisterLeavesOutPlantedEntries(t *testing.T) {
	t.Parallel()
	since := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	envs, bucket := attackEnvs(t, map[string]string{"RECORDBOT_SIGNED_SINCE": since})
	ctx := context.Background()
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			st, writer := attackStores(t, name, env, bucket)
			genuine := fileAt(t, st, "100-01", "Genuine letter", time.Now())
			minutes := fileAt(t, st, "100-30", "Permanent minutes", time.Now())
			put := func(e filing.IndexEntry) {
				t.Helper()
				data, _ := json.Marshal(e)
				if _, err := writer.Create(ctx, filing.IndexPrefix+e.ID+".json", bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/json"}); err != nil {
					t.Fatalf("plant %s with the bot's keys: %v", e.ID, err)
				}
			}
			fake, other := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
			put(filing.IndexEntry{ID: fake, Key: "records/100_Administration/2018/2018-01-01_Fake_" + filing.ShortID(fake) + "/",
				Title: "Never filed", ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy, FiledAt: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)})
			put(filing.IndexEntry{ID: other, Key: minutes.Key, Title: "Old junk",
				ClassCode: "100-01", DisposalDate: "2020-12-31", DisposalAction: filing.Destroy, FiledAt: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)})

			out, stderr, code := runBot(t, env, "records", "register")
			if code != 1 || !strings.Contains(stderr, "NOT TRUSTED, left out of the registers") || !strings.Contains(out, "2 index entries left out") {
				t.Errorf("bot records register with planted entries: exit %d, stdout %q, stderr %q; want 1 and the entries counted", code, out, stderr)
			}
			var reg records.Register
			if err := json.Unmarshal([]byte(readObject(t, st, records.RegisterKey("100-01", "json"))), &reg); err != nil {
				t.Fatal(err)
			}
			csv := readObject(t, st, records.RegisterKey("100-01", "csv"))
			for _, id := range []string{fake, other} {
				if !strings.Contains(stderr, "not trusted: "+id+": ") {
					t.Errorf("bot records register: stderr %q does not name entry %s", stderr, id)
				}
				if strings.Contains(csv, id) {
					t.Errorf("bot records register: entry %s in the CSV register", id)
				}
			}
			if len(reg.Records) != 1 || reg.Records[0].ID != genuine.ID || !strings.Contains(csv, genuine.ID) {
				t.Errorf("bot records register: register of 100-01 %+v; want the genuine record alone", reg.Records)
			}

			// --json keeps its array of registers; the entries go to
			// standard error, with the exit status.
			out, stderr, code = runBot(t, env, "records", "register", "--json")
			var where []string
			if err := json.Unmarshal([]byte(out), &where); err != nil || code != 1 || len(where) != 4 || !strings.Contains(stderr, "not trusted: "+fake+": ") {
				t.Errorf("bot records register --json: exit %d, %v, %q, stderr %q; want 1, the 4 registers and the entries named", code, err, where, stderr)
			}

			// With no key configured nothing can be checked, and it says so.
			nokey := maps.Clone(env)
			delete(nokey, "RECORDBOT_SECRET_KEY")
			if _, stderr, code := runBot(t, nokey, "records", "register"); code != 0 || !strings.Contains(stderr, "warning: no key to check the index entries with") {
				t.Errorf("bot records register without a key: exit %d, stderr %q, want 0 and the warning that nothing is checked", code, stderr)
			}
		})
	}
}
