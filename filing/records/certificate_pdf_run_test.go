package records_test

import (
	"context"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/filing/records"
	"github.com/recordbot/recordbot/internal/pdfacheck"
)

// A disposal run writes its certificate as PDF/A beside the JSON and CSV.
func TestDestroyWritesCertificatePDF(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			svc := service(t, st, nil)
			old := file(t, svc, spec{title: "Old correspondence · Αλληλογραφία · مراسلات", class: "100-01"})
			expire(t, st, old)
			rep, err := records.Destroy(ctx, st, authority(8), nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSuffix(rep.CertificateJSON, ".json") + ".pdf"; rep.CertificatePDF != want || want == ".pdf" {
				t.Fatalf("certificate PDF at %q, want %q beside the JSON", rep.CertificatePDF, want)
			}
			pdf := read(t, st, rep.CertificatePDF)
			if p := pdfacheck.Check(pdf); len(p) > 0 {
				t.Fatalf("the certificate PDF is not PDF/A-2b:\n%s", strings.Join(p, "\n"))
			}
			if !strings.Contains(string(pdf), "<dc:identifier>"+rep.Certificate.ID+"</dc:identifier>") {
				t.Error("the certificate PDF does not name its run")
			}
		})
	}
}
