package filing

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// Request asks for one thread to be filed as a record. It is stored before
// the person is told it was accepted, and carried out by a worker; its ID
// becomes the record's ID, so one request yields at most one record.
type Request struct {
	// ID is a UUIDv7, assigned by Service.Submit.
	ID          string         `json:"id"`
	RequestedAt time.Time      `json:"requested_at"`
	RequestedBy capture.Person `json:"requested_by"`
	Thread      capture.Ref    `json:"thread"`
	Title       string         `json:"title"`
	ClassCode   string         `json:"class_code"`
	Marking     string         `json:"marking"`
	Description string         `json:"description,omitempty"`
	// Via says how the person asked: "slack shortcut", "mattermost
	// reaction", "import"...
	Via string `json:"via,omitempty"`
	// Related names earlier records the record relates to (one it
	// corrects); the record's record.json lists them.
	Related []Related `json:"related,omitempty"`
	// Key, when set, makes Submit idempotent: it is derived from what the
	// platform sends with the submission (Slack's view id and hash, a
	// Mattermost dialog's nonce), so a replayed form, a double click or a
	// retry after a late answer finds the request already stored rather
	// than making a second one. Front ends prefix it with the platform and
	// workspace so keys of different origins never meet.
	Key string `json:"key,omitempty"`
	// Repeat is set by Submit when a request with the same Key was already
	// stored; the returned request is that one. It is never stored.
	Repeat bool `json:"-"`
	// Reply is where the front end reports the outcome (channel, user,
	// response URL...). Filing stores it and hands it back untouched.
	Reply json.RawMessage `json:"reply,omitempty"`
	// Attempts counts how often a worker has tried this request.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the last failure, for people; empty while all is well.
	LastError string `json:"last_error,omitempty"`
	// RecordKey is the record's folder in the store, fixed by the worker
	// when it first claims the request: a file plan edited while the
	// request waits (a class renamed) must not split the record between
	// two folders.
	RecordKey string `json:"record_key,omitempty"`
	// Delayed is set once the person has been told that the platform's
	// rate limit holds the filing up, so they are told only once.
	Delayed bool `json:"delayed,omitempty"`
}

// Outcome is what happened to a request, given to a Notifier.
type Outcome struct {
	Request Request
	// Record is the filed record; nil when filing failed.
	Record *Summary
	// Err is why filing failed; nil on success.
	Err error
	// Final is false when a failed request will be tried again.
	Final bool
}

// Summary says where a filed record is.
type Summary struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	ClassCode string    `json:"class_code"`
	ClassPath string    `json:"class_path"`
	Marking   string    `json:"marking"`
	Key       string    `json:"key"`
	Where     string    `json:"where"`
	FiledAt   time.Time `json:"filed_at"`
	// DisposalDate is zero for records kept permanently.
	DisposalDate   time.Time      `json:"disposal_date,omitzero"`
	DisposalAction DisposalAction `json:"disposal_action"`
	FiledBy        capture.Person `json:"filed_by"`
	Messages       int            `json:"messages"`
	Files          int            `json:"files"`
	// Bytes is the size of the record's payload files.
	Bytes int64 `json:"bytes,omitempty"`
	// MissingFiles counts attached files whose content went missing
	// after the thread was captured (gone from the platform before it
	// could be downloaded); record.json says why for each.
	MissingFiles int `json:"missing_files,omitempty"`
	// UnavailableFiles counts attached files the platform did not give
	// at all (not readable by recordbot, or by the person filing): the
	// record keeps their names, links and why.
	UnavailableFiles int `json:"unavailable_files,omitempty"`
}

// FieldErrors reports bad input field by field ("title", "class",
// "marking", "description"), so a modal or dialog can show each inline.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %s", k, e[k])
	}
	return "invalid filing request: " + strings.Join(parts, "; ")
}
