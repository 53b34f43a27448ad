package records

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// The disposal certificate's PDF is PDF/A-2b by the check, with every
// record on it, in any script, and space to sign.
// RECORDBOT_PDF_OUT=dir writes it there to look at.
func TestCertificatePDF(t *testing.T) {
	c := &Certificate{Schema: CertificateSchema, ID: "019d4a5e-7c00-7000-8000-0000000c0001", Action: "destroy",
		Authority: "Records schedule RS-4, item 12", ApprovedBy: "Dana Records-Manager", By: capture.Person{ID: "U7", DisplayName: "officer", RealName: "Olu Officer"},
		At: time.Date(2033, 4, 1, 9, 30, 0, 0, time.UTC), Store: "s3://records"}
	titles := []string{"Roads budget 2026: option B agreed", "Ferry timetable · Καλημέρα · Здравствуйте", "اجتماع اللجنة", "ישיבת ועדה", "会议纪要", "会議の議事録", "회의록", "Approved 👍"}
	for i, ti := range titles {
		c.Records = append(c.Records, Outcome{ID: "rec-" + string(rune('a'+i)), Title: ti, ClassCode: "100-20", DisposalDate: "2033-03-31",
			Action: "destroy", Outcome: Destroyed, Detail: "12 object versions destroyed"})
	}
	pdf, err := c.PDF()
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("RECORDBOT_PDF_OUT"); dir != "" {
		os.WriteFile(filepath.Join(dir, "certificate.pdf"), pdf, 0o644)
	}
	if p := pdfacheck.Check(pdf); len(p) > 0 {
		t.Fatalf("the certificate PDF is not PDF/A-2b:\n%s", strings.Join(p, "\n"))
	}
	if !strings.Contains(string(pdf), "<dc:identifier>"+c.ID+"</dc:identifier>") {
		t.Error("the certificate PDF's metadata does not name the certificate")
	}
	if got := certificatePDFKey(c); got != "certificates/2033/04/01/"+c.ID+".pdf" {
		t.Errorf("certificate PDF key = %q", got)
	}
}
