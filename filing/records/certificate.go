package records

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// CertificatesPrefix holds the disposal certificates, by date: one JSON and
// one CSV per disposal run, created once and kept.
const CertificatesPrefix = "certificates/"

// CertificateSchema identifies the JSON form of a disposal certificate.
const CertificateSchema = "recordbot.disposal-certificate/1"

// Certificate is the proof a disposal run leaves: under what authority,
// approved by whom, carried out by whom and when, and what became of each
// record.
type Certificate struct {
	Schema string `json:"schema"`
	// ID is the run's id; the residual entries and audit events of the
	// run name it.
	ID         string         `json:"id"`
	Action     string         `json:"action"`
	Authority  string         `json:"authority"`
	ApprovedBy string         `json:"approved_by"`
	By         capture.Person `json:"carried_out_by"`
	At         time.Time      `json:"date"`
	// Store is where the records were.
	Store   string    `json:"store"`
	Records []Outcome `json:"records"`
	// Signature is by the deployment's key (KindCertificate).
	Signature *filing.Signature `json:"signature,omitempty"`
}

// certificateKeys returns where the certificate's JSON and CSV are stored.
func certificateKeys(c *Certificate) (string, string) {
	base := fmt.Sprintf("%s%s/%s", CertificatesPrefix, c.At.UTC().Format("2006/01/02"), c.ID)
	return base + ".json", base + ".csv"
}

// CSV returns the certificate as CSV: one line per record, each with the
// run's authority, approver, executor and date.
func (c *Certificate) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"certificate", "date", "authority", "approved_by", "carried_out_by", "record_id", "title", "class", "disposal_date", "action", "outcome", "detail"})
	for _, r := range c.Records {
		w.Write([]string{c.ID, c.At.UTC().Format(time.RFC3339), csvSafe(c.Authority), csvSafe(c.ApprovedBy), csvSafe(c.By.Name()),
			r.ID, csvSafe(r.Title), csvSafe(r.ClassCode), r.DisposalDate, r.Action, r.Outcome, csvSafe(r.Detail)})
	}
	w.Flush()
	return b.Bytes()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// writeCertificate stores c (JSON and CSV), locked as long as the store
// keeps records permanently, and records it in the audit trail.
func writeCertificate(ctx context.Context, st filing.Store, signer *filing.Signer, c *Certificate) (jsonKey, csvKey string, err error) {
	jsonKey, csvKey = certificateKeys(c)
	lock := filing.RecordLock(c.At, "")
	if signer != nil {
		if err := signer.Sign(filing.KindCertificate, c, &c.Signature); err != nil {
			return "", "", err
		}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", "", err
	}
	if _, err := st.Create(ctx, jsonKey, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "application/json", RetainUntil: lock}); err != nil {
		return "", "", fmt.Errorf("disposal certificate: %w", err)
	}
	data = c.CSV()
	if _, err := st.Create(ctx, csvKey, bytes.NewReader(data), int64(len(data)), filing.WriteOptions{ContentType: "text/csv; charset=utf-8", RetainUntil: lock}); err != nil {
		return "", "", fmt.Errorf("disposal certificate: %w", err)
	}
	_, err = filing.WriteEvent(ctx, st, signer, filing.Event{Type: "disposal-certificate", At: c.At, By: c.By, Key: jsonKey,
		Outcome: c.Action, Detail: fmt.Sprintf("%d records; authority: %s; approved by: %s", len(c.Records), c.Authority, c.ApprovedBy)}, lock)
	if err != nil {
		return jsonKey, csvKey, fmt.Errorf("disposal certificate stored but not recorded in the audit trail: %w", err)
	}
	return jsonKey, csvKey, nil
}
