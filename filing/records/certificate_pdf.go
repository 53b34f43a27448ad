package records

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// certificatePDFKey is where the certificate's printable PDF/A is stored,
// beside its JSON and CSV.
func certificatePDFKey(c *Certificate) string {
	j, _ := certificateKeys(c)
	return strings.TrimSuffix(j, ".json") + ".pdf"
}

// PDF returns the certificate as a PDF/A-2b document a person can print
// and sign: the authority, who approved the disposal, who carried it out
// and when, each record with its title, class, dates and outcome, and
// space for the signatures. The JSON (signed by the deployment's key)
// stays the certificate of record; this is its printable rendition.
func (c *Certificate) PDF() ([]byte, error) {
	title := "Disposal certificate " + c.ID
	d := filing.NewPDFDoc(title, fmt.Sprintf("Disposal certificate: %s, %d records", c.Action, len(c.Records)), "disposal certificate "+c.Action, c.ID, c.At)
	d.AddPage()
	d.Font("B", 15)
	d.Text(8, "Certificate of disposal ("+c.Action+")")
	d.Font("", 9)
	d.Text(5, "Certificate "+c.ID)
	d.Ln(3)
	by := c.By.Name()
	if c.By.ID != "" && c.By.ID != by {
		by += " (" + c.By.ID + ")"
	}
	for _, row := range [][2]string{
		{"Action", c.Action},
		{"Authority", c.Authority},
		{"Approved by", c.ApprovedBy},
		{"Carried out by", by},
		{"Date", c.At.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"Store", c.Store},
		{"Records", fmt.Sprintf("%d", len(c.Records))},
	} {
		d.Font("B", 9.5)
		d.Cell(38, 5.5, row[0], "L", false)
		d.Font("", 9.5)
		d.Text(5.5, row[1])
	}
	d.Ln(4)
	d.Font("B", 11)
	d.Text(6, "Records")
	for i, r := range c.Records {
		if d.SpaceLeft() < 22 {
			d.AddPage()
		}
		d.Font("B", 9.5)
		d.Text(5, fmt.Sprintf("%d. %s", i+1, r.Title))
		d.Font("", 8.5)
		dates := "no disposal date"
		if r.DisposalDate != "" {
			dates = "due for disposal " + r.DisposalDate
		}
		d.Text(4.5, fmt.Sprintf("Record %s · class %s · %s · %s on %s", r.ID, r.ClassCode, dates, r.Action, c.At.UTC().Format(time.DateOnly)))
		d.Font("B", 8.5)
		d.Text(4.5, "Outcome: "+r.Outcome)
		if r.Detail != "" {
			d.Font("", 8.5)
			d.Text(4.5, r.Detail)
		}
		d.Ln(1.5)
	}
	if d.SpaceLeft() < 80 {
		d.AddPage()
	}
	d.Ln(4)
	d.Font("", 9)
	d.Text(4.5, "The records above were disposed of as stated, under the authority given. The signed JSON form of this certificate, "+
		"and its CSV, are kept beside this PDF.")
	for _, who := range []string{"Approved by (" + c.ApprovedBy + ")", "Carried out by (" + c.By.Name() + ")", "Records manager"} {
		d.Ln(10)
		d.Font("B", 9)
		d.Text(5, who)
		d.Ln(8)
		_, y := d.XY()
		d.Line(15, y, 95, y)
		d.Line(110, y, 150, y)
		d.Line(160, y, 195, y)
		d.SetXY(15, y+1)
		d.Font("", 7.5)
		d.Cell(95, 4, "Signature", "L", false)
		d.Cell(50, 4, "Name", "L", false)
		d.Cell(0, 4, "Date", "L", false)
		d.Ln(4)
	}
	var b bytes.Buffer
	if _, err := d.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("disposal certificate PDF: %w", err)
	}
	return b.Bytes(), nil
}

// writeCertificatePDF stores the certificate's PDF beside its JSON and
// CSV, locked as they are.
func writeCertificatePDF(ctx context.Context, st filing.Store, c *Certificate) (string, error) {
	data, err := c.PDF()
	if err != nil {
		return "", err
	}
	key := certificatePDFKey(c)
	if _, err := st.Create(ctx, key, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/pdf", RetainUntil: filing.RecordLock(c.At, "")}); err != nil {
		return "", fmt.Errorf("disposal certificate: %w", err)
	}
	return key, nil
}
