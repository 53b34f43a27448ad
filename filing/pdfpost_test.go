package filing

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"

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

// sortImages puts a document's images in the order of their names, and
// refuses images it cannot renumber safely.
func TestSortImagesRejects(t *testing.T) {
	p := newPDFA(pdfMeta{Title: "t", Subject: "s", Keywords: "k", ID: "id", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	p.AddPage()
	for i := range 2 {
		name := fmt.Sprint("chart", i)
		p.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(chart(i)))
		p.ImageOptions(name, 10, 10+float64(i)*50, 40, 0, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	var doc pdfDoc
	if err := p.Output(&doc); err != nil {
		t.Fatal(err)
	}
	sorted, err := sortImages(doc.data)
	if err != nil {
		t.Fatalf("sortImages(fpdf's output): %v", err)
	}
	names := regexp.MustCompile(`(?m)^/I([0-9a-f]{40}) (\d+) 0 R$`).FindAllStringSubmatch(string(sorted), -1)
	if len(names) != 2 || names[0][1] > names[1][1] || atoi(t, names[0][2]) > atoi(t, names[1][2]) {
		t.Errorf("XObject resources %q: want the images numbered in the order of their names", names)
	}
	var out bytes.Buffer
	if err := finishPDF(doc.data, &out); err != nil {
		t.Fatal(err)
	}
	checkXref(t, out.Bytes())
	s := string(doc.data)
	for name, mutate := range map[string]func() string{
		"an image not in the resources": func() string {
			return regexp.MustCompile(`(?m)^/I[0-9a-f]{40} \d+ 0 R\n`).ReplaceAllString(s, "")
		},
		"a resource not an image": func() string {
			return regexp.MustCompile(`(?m)^(/I[0-9a-f]{40}) \d+ 0 R$`).ReplaceAllString(s, "$1 1 0 R")
		},
	} {
		mutated := mutate()
		if mutated == s {
			t.Errorf("%s: the mutation changed nothing", name)
			continue
		}
		if _, err := sortImages([]byte(mutated)); err == nil {
			t.Errorf("%s: sortImages accepted it", name)
		}
	}
}
