package index

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// row is one record as the index keeps it.
type row struct {
	ID, Key  string
	FiledAt  time.Time
	Platform string
	// Classes are the codes on the record's class path, upper case, each
	// between spaces: " 100 100-20 ".
	Classes string
	State   string
	// Entry is the index entry as filed.
	Entry []byte
	// Meta, People and Body are words (tokens) separated by spaces: of
	// the title and channel; of the participants and filer; of the
	// transcript.
	Meta, People, Body string
	// Text is the transcript (up to maxText), for snippets.
	Text string
	// Partial is set when the transcript was longer than maxText.
	Partial bool
	// NoText is set when the record has no transcript.
	NoText bool
}

// backend is an engine that keeps the rows: SQLite or PostgreSQL.
type backend interface {
	meta(ctx context.Context, k string) (string, error)
	write(ctx context.Context, fn func(w writer) error) error
	has(ctx context.Context, id string) (bool, error)
	// candidates returns the rows (Text left empty) that pass s and hold
	// every word of s.words (each as the start of a word, in any of title
	// and channel, people, transcript), or the phone token; those whose
	// title, channel or people hold them all first, then newest first, at
	// most s.limit. Phrases are checked here, in Go, so both engines
	// answer alike.
	candidates(ctx context.Context, s selection) ([]row, bool, error)
	text(ctx context.Context, id string) (string, error)
	// noText returns the rows of records with no transcript (a partial
	// index finds them: a scan of every row takes seconds at a million).
	noText(ctx context.Context) ([]row, error)
	// states returns every record's id and state.
	states(ctx context.Context) (map[string]string, error)
	count(ctx context.Context) (int, error)
	reset(ctx context.Context) error
	close() error
}

// writer changes the index inside one transaction.
type writer interface {
	setMeta(k, v string) error
	// putAll writes many rows, in as few statements as the engine can. A
	// record named twice is written once, as its last row: what writing
	// them one by one would leave (PostgreSQL's multi-row upsert refuses
	// a row twice in one statement).
	putAll(rows []row) error
	// setState records a record's state: Destroyed stays whatever comes
	// after and drops the transcript's words; "" lifts only Held.
	setState(id, state string) error
}

// putAll writes rows through w: a catch-up's batch.
func putAll(w writer, rows []row) error { return w.putAll(rows) }

// lastOfEach is rows without those a later row of the same record
// replaces, in their order.
func lastOfEach(rows []row) []row {
	last := make(map[string]int, len(rows))
	for i, r := range rows {
		last[r.ID] = i
	}
	if len(last) == len(rows) {
		return rows
	}
	out := make([]row, 0, len(last))
	for i, r := range rows {
		if last[r.ID] == i {
			out = append(out, r)
		}
	}
	return out
}

// selection is what a backend selects.
type selection struct {
	words  []string  // all must start words of the record
	phone  string    // "tel" token, when the search is a phone number
	people []string  // all must start words of the people
	from   time.Time // filed on or after, zero for any
	to     time.Time // filed before, zero for any
	class  string    // a class code, upper case, or ""
	plat   string
	limit  int
}

// Search is a search of the index.
type Search struct {
	// Text is what to find, as typed: words, "phrases", or a phone number.
	// Empty lists every record that passes the other fields.
	Text string
	// From and To bound the filing date, by UTC day, inclusive; zero for
	// no bound.
	From, To time.Time
	// Class is a class code; records of that class or one below it.
	Class string
	// Person is a name or id among the participants or the filer.
	Person string
	// Platform is slack, mattermost, whatsapp, teams...
	Platform string
	// Limit is the most hits returned; 50 when 0.
	Limit int
}

// Hit is a record that matches a search.
type Hit struct {
	records.Hit
	// State is held, transferred or destroyed, or "".
	State string `json:"state,omitempty"`
	// Partial is set when only the start of its transcript was searched.
	Partial bool `json:"partial,omitempty"`
}

// Answer is what a search found, with how current the index was.
type Answer struct {
	Hits []Hit `json:"hits"`
	// Unsearched are records that pass the search's other fields but have
	// no transcript to search (their title, channel and people were).
	Unsearched []records.Unsearched `json:"unsearched,omitempty"`
	// More is set when more records matched than Limit.
	More   bool   `json:"more"`
	Status Status `json:"index"`
}

// ErrNothingToFind is returned for a search with no words.
var ErrNothingToFind = errors.New("nothing to find: give a word, a \"phrase\" or a phone number")

// Find searches the index. Matching records come ranked: those whose
// title, channel or people hold the text first, then newest first; each
// with where the text was found and the first transcript line holding it.
func (ix *Index) Find(ctx context.Context, s Search) (Answer, error) {
	q := Parse(s.Text)
	if q.Empty() && strings.TrimSpace(s.Text) != "" {
		return Answer{}, ErrNothingToFind
	}
	limit := s.Limit
	if limit <= 0 {
		limit = 50
	}
	sel := selection{words: q.words(), plat: strings.ToLower(strings.TrimSpace(s.Platform)), class: strings.ToUpper(strings.TrimSpace(s.Class)), limit: limit + 1}
	if q.Phone != "" && len(q.Phone) >= phoneTail {
		sel.phone = "tel" + q.Phone[len(q.Phone)-phoneTail:]
	}
	if p := strings.TrimSpace(s.Person); p != "" {
		pq := Parse(p)
		if pq.Phone != "" {
			sel.people = []string{"tel" + pq.Phone[max(len(pq.Phone)-phoneTail, 0):]}
		} else {
			sel.people = pq.words()
		}
	}
	if !s.From.IsZero() {
		sel.from = day(s.From)
	}
	if !s.To.IsZero() {
		sel.to = day(s.To).AddDate(0, 0, 1)
	}
	var ans Answer
	var err error
	if ans.Status, err = ix.Status(ctx); err != nil {
		return ans, err
	}
	for {
		rows, more, err := ix.b.candidates(ctx, sel)
		if err != nil {
			return ans, err
		}
		ans.Hits = ans.Hits[:0]
		for _, r := range rows {
			h, ok, err := ix.hit(ctx, q, r)
			if err != nil {
				return ans, err
			}
			if ok {
				ans.Hits = append(ans.Hits, h)
			}
		}
		// A phone number's token narrows by its last digits only, and a
		// phrase by its words: when the check in full dropped some, look
		// further.
		if len(ans.Hits) > limit || !more || len(rows) == 0 || sel.limit >= 1<<20 {
			break
		}
		if len(ans.Hits) == len(rows) {
			break
		}
		sel.limit *= 4
	}
	if len(ans.Hits) > limit {
		ans.Hits, ans.More = ans.Hits[:limit], true
	}
	if q.Empty() {
		return ans, nil
	}
	bare, err := ix.b.noText(ctx)
	if err != nil {
		return ans, err
	}
	for _, r := range bare {
		var e filing.IndexEntry
		if json.Unmarshal(r.Entry, &e) != nil || r.State == Destroyed || !sel.passes(r, e) ||
			slices.ContainsFunc(ans.Hits, func(h Hit) bool { return h.ID == e.ID }) {
			continue
		}
		ans.Unsearched = append(ans.Unsearched, records.Unsearched{ID: e.ID, Title: e.Title, Where: ix.st.Where(e.Key),
			Reason: "its transcript " + filing.TextFile + " is missing"})
	}
	return ans, nil
}

// passes reports whether a record passes sel's fields other than its
// words.
func (sel selection) passes(r row, e filing.IndexEntry) bool {
	switch {
	case !sel.from.IsZero() && r.FiledAt.Before(sel.from),
		!sel.to.IsZero() && !r.FiledAt.Before(sel.to),
		sel.class != "" && !strings.Contains(r.Classes, " "+sel.class+" "),
		sel.plat != "" && r.Platform != sel.plat:
		return false
	}
	if len(sel.people) > 0 {
		words := append(tokens(peopleText(e)), phoneTokens(peopleText(e))...)
		for _, w := range sel.people {
			if !slices.ContainsFunc(words, func(x string) bool { return strings.HasPrefix(x, w) }) {
				return false
			}
		}
	}
	return true
}

// day is t's UTC day.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// hit checks a candidate and says where the text is.
func (ix *Index) hit(ctx context.Context, q Query, r row) (Hit, bool, error) {
	var e filing.IndexEntry
	if err := json.Unmarshal(r.Entry, &e); err != nil {
		return Hit{}, false, nil
	}
	h := Hit{Hit: records.Hit{IndexEntry: e, Where: ix.st.Where(e.Key)}, State: r.State, Partial: r.Partial}
	if q.Empty() {
		return h, true, nil
	}
	text, err := ix.b.text(ctx, r.ID)
	if err != nil {
		return Hit{}, false, err
	}
	if !q.inRecord(e, text) {
		return Hit{}, false, nil
	}
	if q.matchLine(e.Title) {
		h.Matched = append(h.Matched, "title")
	}
	if slices.ContainsFunc(e.Participants, q.matchLine) {
		h.Matched = append(h.Matched, "participant")
	}
	if q.matchLine(filing.Label(e.FiledBy)) || q.matchLine(e.FiledBy.ID) {
		h.Matched = append(h.Matched, "filed by")
	}
	if q.matchLine(e.Channel) {
		h.Matched = append(h.Matched, "channel")
	}
	for line := range strings.Lines(text) {
		if q.matchLine(line) {
			h.Matched = append(h.Matched, "transcript")
			h.Snippet = shorten(strings.TrimSpace(line), 160)
			break
		}
	}
	if len(h.Matched) == 0 && q.Phone == "" && r.State != Destroyed {
		// Every word is in the record, but no one field or line holds
		// them all: the words are spread over it.
		h.Matched = append(h.Matched, "record")
	}
	return h, len(h.Matched) > 0, nil
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
