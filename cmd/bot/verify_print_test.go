package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing/records"
)

// verify's results are printed one at a time; the JSON form is one array
// whether it ends well, ends empty or is cut short, and what a title holds
// cannot act on the officer's terminal.
func TestVerifyPrinter(t *testing.T) {
	t.Parallel()
	hostile := records.Result{ID: "r1", Title: "Budget \x1b[2J\x1b]0;pwned\x07 <b>", Problems: []records.Problem{{Kind: records.Altered, Path: "data/\x1b[31mx.txt"}}}
	ok := records.Result{ID: "r2", Title: "Roads"}
	for _, c := range []struct {
		name string
		res  []records.Result
		stop func(*verifyPrinter)
	}{
		{"finished", []records.Result{hostile, ok}, func(vp *verifyPrinter) { vp.end() }},
		{"empty", nil, func(vp *verifyPrinter) { vp.end() }},
		{"cut short", []records.Result{hostile}, func(vp *verifyPrinter) { vp.abort() }},
	} {
		var out bytes.Buffer
		vp := &verifyPrinter{w: &out, asJSON: true}
		for _, r := range c.res {
			if err := vp.result(r); err != nil {
				t.Fatal(err)
			}
		}
		c.stop(vp)
		var got []records.Result
		if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got) != len(c.res) {
			t.Errorf("%s: JSON %q = %d results, %v; want %d", c.name, out.String(), len(got), err, len(c.res))
		}
		if len(got) > 0 && got[0].Title != hostile.Title {
			t.Errorf("%s: title through JSON = %q, want it as filed", c.name, got[0].Title)
		}
	}
	var out bytes.Buffer
	vp := &verifyPrinter{w: &out}
	vp.result(hostile)
	if strings.ContainsAny(out.String(), "\x1b\x07") || !strings.Contains(out.String(), "FAILED") {
		t.Errorf("text line = %q: want FAILED, and no escape or bell from the title or path", out.String())
	}
}
