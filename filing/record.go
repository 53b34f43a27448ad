package filing

import (
	"time"

	"github.com/recordbot/recordbot/capture"
)

// RecordSchema identifies the JSON form of record.json written by this code.
const RecordSchema = "recordbot.record/1"

// Record is the metadata of a filed record: the record.json at the root of
// its package, with the minimum metadata a records manager expects.
type Record struct {
	Schema string `json:"schema"`
	// Identity.
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Class       ClassRef `json:"class"`
	// Key is the package's folder in the store (ending in "/").
	Key string `json:"key"`
	// Who and when.
	FiledBy      capture.Person   `json:"filed_by"`
	FiledAt      time.Time        `json:"filed_at"`
	CapturedAt   time.Time        `json:"captured_at"`
	Via          string           `json:"via,omitempty"`
	ThreadStart  time.Time        `json:"thread_start"`
	ThreadEnd    time.Time        `json:"thread_end"`
	Participants []capture.Person `json:"participants"`
	// Source.
	Source Source `json:"source"`
	// Provenance is set for a thread read from a file a person supplied
	// (a WhatsApp export) rather than captured from the platform: who
	// supplied it, when, the file's name and SHA-256 and where the record
	// keeps it, and what reading it assumed.
	Provenance *capture.Provenance `json:"provenance,omitempty"`
	// Retention and security.
	Retention RetentionInfo `json:"retention"`
	Marking   string        `json:"security_marking"`
	// Format and fixity: every payload file with its SHA-256.
	Messages int         `json:"messages"`
	Payload  []FileEntry `json:"payload"`
	// Missing lists attached files the snapshot (data/thread.json) holds
	// with a path but whose content could not be stored: deleted from the
	// platform, or no longer readable, between the capture and the
	// download. thread.json still names the path each would have had;
	// the transcripts show them as not captured, with the reason.
	Missing []MissingFile `json:"missing_files,omitempty"`
	// unavailable counts the files the platform did not give (the
	// snapshot says why for each); for the filing's outcome only.
	unavailable int
	// Events of the record known when it was filed; later events (fixity
	// checks, holds, disposal) are in the audit trail.
	Events []Event `json:"events"`
	// Related names earlier records this one relates to: a record that
	// files a source again with a corrected reading names the record it
	// corrects (relation "corrects"), which stays as it was filed.
	Related []Related `json:"related,omitempty"`
}

// ClassRef names the class a record is filed in, with its path.
type ClassRef struct {
	Code  string      `json:"code"`
	Title string      `json:"title"`
	Path  []ClassStep `json:"path"`
}

// ClassStep is one level of a class path.
type ClassStep struct {
	Code  string `json:"code"`
	Title string `json:"title"`
}

// String returns the path for people: "100 Administration > 100-20 Committees".
func (c ClassRef) String() string {
	s := ""
	for i, p := range c.Path {
		if i > 0 {
			s += " > "
		}
		s += p.Code + " " + p.Title
	}
	return s
}

// Source says where a record's thread came from.
type Source struct {
	Platform  capture.Platform  `json:"platform"`
	Workspace capture.Workspace `json:"workspace"`
	Channel   capture.Channel   `json:"channel"`
	ThreadID  string            `json:"thread_id"`
	Permalink string            `json:"permalink,omitempty"`
	// ReadAs says whose access read the thread (capture.Thread.ReadAs):
	// "bot", or "delegated:<user id>" for a person's granted access.
	ReadAs string `json:"read_as,omitempty"`
}

// RetentionInfo is the retention of one record.
type RetentionInfo struct {
	Rule   string         `json:"rule"`
	Period string         `json:"period,omitempty"`
	From   string         `json:"from"`
	Action DisposalAction `json:"action"`
	// DisposalDate is "" for permanent records, else YYYY-MM-DD.
	DisposalDate string `json:"disposal_date,omitempty"`
}

// FileEntry is one payload file of a record package.
type FileEntry struct {
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	MIMEType string `json:"mime_type,omitempty"`
	// Name and SourceID are the chat file's own, for attached files.
	Name     string `json:"name,omitempty"`
	SourceID string `json:"source_id,omitempty"`
}

// MissingFile is an attached file whose content is not in the record.
type MissingFile struct {
	// Path is where the snapshot planned the file's content to go.
	Path     string `json:"path"`
	Name     string `json:"name"`
	SourceID string `json:"source_id,omitempty"`
	// Reason says why the content is missing, for people.
	Reason string `json:"reason"`
}

// Event is one entry of the audit trail: stored as its own object under
// AuditPrefix, never rewritten.
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"` // "filed", "fixity-check", "legal-hold-on", ...
	At   time.Time `json:"at"`
	// By is who caused it: the requester, or the records officer.
	By       capture.Person `json:"by"`
	RecordID string         `json:"record_id"`
	Key      string         `json:"key,omitempty"`
	// TagManifestSHA256 is the checksum of the record's
	// tagmanifest-sha256.txt at filing: it seals every other checksum.
	TagManifestSHA256 string `json:"tagmanifest_sha256,omitempty"`
	ClassCode         string `json:"class_code,omitempty"`
	RequestID         string `json:"request_id,omitempty"`
	Source            string `json:"source,omitempty"`
	// Outcome and Detail describe checks and other events for people.
	Outcome string `json:"outcome,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Agent   string `json:"agent,omitempty"`
	// Prev is the SHA-256 of the record's event before this one, as
	// stored: the events of a record form a chain from its filing event,
	// so one removed or put out of order shows. "" on the filing event
	// (and on events written before chaining).
	Prev string `json:"prev,omitempty"`
	// Signature is by the deployment's signing key (Signer), over the
	// event with this field empty; nil on events written before signing.
	Signature *Signature `json:"signature,omitempty"`
}

// IndexEntry is the small per-record object under IndexPrefix that lets the
// records commands list and find records without reading every package.
type IndexEntry struct {
	ID             string           `json:"id"`
	Key            string           `json:"key"`
	Title          string           `json:"title"`
	ClassCode      string           `json:"class_code"`
	ClassPath      string           `json:"class_path"`
	Marking        string           `json:"security_marking"`
	FiledAt        time.Time        `json:"filed_at"`
	FiledBy        capture.Person   `json:"filed_by"`
	ThreadStart    time.Time        `json:"thread_start"`
	DisposalDate   string           `json:"disposal_date,omitempty"`
	DisposalAction DisposalAction   `json:"disposal_action"`
	Platform       capture.Platform `json:"platform"`
	Channel        string           `json:"channel,omitempty"`
	Participants   []string         `json:"participants,omitempty"`
	// Signature is by the deployment's signing key over the entry with
	// this field empty; nil on entries written before signing.
	Signature *Signature `json:"signature,omitempty"`
}

// Agent is what recordbot calls itself in bags and events.
const Agent = "recordbot/0.1"

// IndexEntryOf returns the index entry of the record rec describes, as the
// filing service writes it (unsigned): one constructor, so what the index
// says and what disposal derives from record.json agree.
func IndexEntryOf(rec *Record) IndexEntry {
	var people []string
	for _, p := range rec.Participants {
		people = append(people, Label(p))
	}
	return IndexEntry{
		ID: rec.ID, Key: rec.Key, Title: rec.Title, ClassCode: rec.Class.Code, ClassPath: rec.Class.String(),
		Marking: rec.Marking, FiledAt: rec.FiledAt, FiledBy: rec.FiledBy, ThreadStart: rec.ThreadStart,
		DisposalDate: rec.Retention.DisposalDate, DisposalAction: rec.Retention.Action, Platform: rec.Source.Platform,
		Channel: rec.Source.Channel.Name, Participants: people,
	}
}
