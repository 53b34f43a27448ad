package s3_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/miniotest"
)

// The lock mode in the configuration is the one a record's objects are
// retained in, and the one the store reports.
func TestLockModeComesFromConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, mode := range []string{"", "GOVERNANCE", "COMPLIANCE"} {
		t.Run("mode="+mode, func(t *testing.T) {
			want := mode
			if want == "" {
				want = "GOVERNANCE"
			}
			st := miniotest.NewStoreWith(t, miniotest.Options{LockMode: mode})
			if got := st.LockMode(); got != want {
				t.Errorf("LockMode() = %q, want %q", got, want)
			}
			// A short retention: a COMPLIANCE object outlives the test
			// bucket's clean-up by a minute at most.
			key := "records/x/data/a.txt"
			if _, err := st.Create(ctx, key, strings.NewReader("a"), 1, filing.WriteOptions{RetainUntil: time.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			h, err := filing.HistoryOf(ctx, st, key)
			if err != nil {
				t.Fatal(err)
			}
			l, err := st.LockOf(ctx, key, h.First.ID)
			if err != nil {
				t.Fatal(err)
			}
			if l.Mode != want {
				t.Errorf("a record object's lock mode = %q, want %q", l.Mode, want)
			}
		})
	}
}
