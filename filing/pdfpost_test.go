package filing

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// rawPDF is a small document as fpdf writes it, before finishPDF.
func rawPDF(t *testing.T) []byte {
	t.Helper()
	p := newPDFA(pdfMeta{Title: "t", Subject: "s", Keywords: "k", ID: "id", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	p.AddPage()
	p.SetFont("go", "", 10)
	p.WriteLinkString(5, "a link", "https://example.org/")
	var doc pdfDoc
	if err := p.Output(&doc); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(doc.data)
}

// finishPDF turns fpdf's output into a PDF/A file, and refuses, writing
// nothing, any output not in the form fpdf v0.12.0 writes: a change in
// the library fails here rather than giving a damaged file.
func TestFinishPDFRejects(t *testing.T) {
	raw := rawPDF(t)
	var out bytes.Buffer
	if err := finishPDF(raw, &out); err != nil {
		t.Fatalf("finishPDF(fpdf's output): %v", err)
	}
	if p := pdfacheck.Check(out.Bytes()); len(p) > 0 {
		t.Fatalf("finished PDF is not PDF/A-2b:\n%s", strings.Join(p, "\n"))
	}
	s := string(raw)
	for name, mutate := range map[string]func() string{
		"no header":           func() string { return strings.Replace(s, "%PDF-1.", "%PDX-1.", 1) },
		"trailer with /Prev":  func() string { return strings.Replace(s, "/Info ", "/Prev 10\n/Info ", 1) },
		"trailer with /ID":    func() string { return strings.Replace(s, ">>\nstartxref", "/ID [<00> <00>]\n>>\nstartxref", 1) },
		"encrypted":           func() string { return strings.Replace(s, "/Info ", "/Encrypt 3 0 R\n/Info ", 1) },
		"free xref entry":     func() string { return strings.Replace(s, " 00000 n \n", " 00000 f \n", 1) },
		"object moved":        func() string { return strings.Replace(s, "\n3 0 obj\n", "\n3 0 obj \n", 1) },
		"xref stream":         func() string { return strings.Replace(s, "\nxref\n", "\nXref\n", 1) },
		"info not where said": func() string { return strings.Replace(s, "<<\n/Producer ", "<<\n/Creator2 ", 1) },
		"dates without digits": func() string {
			return strings.Replace(s, "/CreationDate (D:2026", "/CreationDate (D:X026", 1)
		},
		"no startxref": func() string { return strings.Replace(s, "startxref", "startref", 1) },
		"short stream": func() string {
			i := strings.Index(s, "<</Length ")
			j := strings.Index(s[i:], ">>") + i
			return s[:i] + "<</Length 9" + s[i+len("<</Length "):j] + s[j:]
		},
	} {
		mutated := mutate()
		if mutated == s {
			t.Errorf("%s: the mutation changed nothing", name)
			continue
		}
		var out bytes.Buffer
		if err := finishPDF([]byte(mutated), &out); err == nil {
			t.Errorf("%s: finishPDF accepted output it does not know", name)
		} else if out.Len() > 0 {
			t.Errorf("%s: finishPDF wrote %d bytes before refusing", name, out.Len())
		}
	}
}
