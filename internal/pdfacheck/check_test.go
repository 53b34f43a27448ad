package pdfacheck_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// A PDF/A document as recordbot writes it passes; each clause broken
// (by a change of the same length, so every offset stays right) fails
// with that clause named.
func TestCheckFindsEachClause(t *testing.T) {
	d := filing.NewPDFDoc("Disposal certificate", "a subject", "keywords", "id-1", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	d.AddPage()
	d.Font("", 10)
	d.Text(5, "Some text to show.")
	var b bytes.Buffer
	if _, err := d.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	if p := pdfacheck.Check(good); len(p) > 0 {
		t.Fatalf("recordbot's PDF fails the check:\n%s", strings.Join(p, "\n"))
	}
	for _, tc := range []struct{ from, to, clause string }{
		{"%PDF-1.4", "%PDF-1.9", "6.1.2"},
		{"/ID [<", "/XD [<", "6.1.3"},
		{"/S /GTS_PDFA1", "/S /GTS_PDFX1", "6.2.4.3"},
		{"<pdfaid:part>2<", "<pdfaid:part>3<", "6.6.4"},
		{"<pdfaid:conformance>B<", "<pdfaid:conformance>A<", "6.6.4"},
		{">Disposal certificate<", ">Disposal certificatE<", "6.6.3"},
		{"<xmp:CreateDate>2030-01-02T03:04:05Z", "<xmp:CreateDate>2030-01-02T03:04:06Z", "6.6.3"},
		{"/Lang (en)", "/JS   (en)", "6.5/6.6.1"},
		{"/Lang (en)", "/AA   (en)", "6.5/6.6.1"},
		{"/Type /Metadata /Subtype /XML", "/Type /Metadata /Subtype /XMM", "6.6.2"},
		{"/FontFile2", "/FontFileX", "6.2.11.4"},
	} {
		if !bytes.Contains(good, []byte(tc.from)) {
			t.Errorf("%q is not in the PDF", tc.from)
			continue
		}
		bad := bytes.Replace(good, []byte(tc.from), []byte(tc.to), 1)
		p := pdfacheck.Check(bad)
		found := false
		for _, s := range p {
			found = found || strings.HasPrefix(s, tc.clause)
		}
		if !found {
			t.Errorf("%q → %q: problems %q, want one under %s", tc.from, tc.to, p, tc.clause)
		}
	}
	if p := pdfacheck.Check([]byte("not a PDF")); len(p) == 0 {
		t.Error("Check passed a file that is not a PDF")
	}
}
