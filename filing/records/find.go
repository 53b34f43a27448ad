package records

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/recordbot/recordbot/filing"
)

// Hit is a record that matches a search.
type Hit struct {
	filing.IndexEntry
	// Where is the record package's s3:// URL or local path.
	Where string `json:"where"`
	// Matched says where the text was found: "title", "participant",
	// "filed by", "channel", "transcript".
	Matched []string `json:"matched"`
	// Snippet is the first transcript line with the text, shortened.
	Snippet string `json:"snippet,omitempty"`
}

// Unsearched is a record whose transcript could not be read, so a search
// cannot say it does not hold the text.
type Unsearched struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Where string `json:"where"`
	// Reason says why, for people.
	Reason string `json:"reason"`
}

// Find returns the records that pass f and whose title, participants
// (display and real names), filer, channel or transcript
// (data/transcript.txt) contain text, ignoring case, accents and width,
// or, when text is a phone number, that number however it is spaced and
// prefixed ("+44", "0044" or a trunk "0"), and the records whose
// transcript could not be read (missing, or a read error): those were
// searched by their index entry only. It reads the index and every
// candidate's transcript, each as filed: one GET per record, and a listing
// and a GET of each transcript, in parallel.
func Find(ctx context.Context, st filing.Store, text string, f Filter) ([]Hit, []Unsearched, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil, errors.New("nothing to find: give a word or phrase")
	}
	entries, err := List(ctx, st, f)
	if err != nil {
		return nil, nil, err
	}
	needle := newMatcher(text)
	hits := make([]*Hit, len(entries))
	unsearched := make([]*Unsearched, len(entries))
	err = forEach(ctx, len(entries), parallel, func(ctx context.Context, i int) error {
		e := entries[i]
		h := &Hit{IndexEntry: e, Where: st.Where(e.Key)}
		has := needle.match
		if has(e.Title) {
			h.Matched = append(h.Matched, "title")
		}
		for _, p := range e.Participants {
			if has(p) {
				h.Matched = append(h.Matched, "participant")
				break
			}
		}
		if has(filing.Label(e.FiledBy)) || has(e.FiledBy.ID) {
			h.Matched = append(h.Matched, "filed by")
		}
		if has(e.Channel) {
			h.Matched = append(h.Matched, "channel")
		}
		snippet, err := grep(ctx, st, e.Key+filing.TextFile, needle)
		if err != nil {
			reason := err.Error()
			if errors.Is(err, filing.ErrNotExist) {
				reason = "its transcript " + filing.TextFile + " is missing"
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			unsearched[i] = &Unsearched{ID: e.ID, Title: e.Title, Where: st.Where(e.Key), Reason: reason}
		}
		if snippet != "" {
			h.Matched = append(h.Matched, "transcript")
			h.Snippet = snippet
		}
		if len(h.Matched) > 0 {
			hits[i] = h
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []Hit
	for _, h := range hits {
		if h != nil {
			out = append(out, *h)
		}
	}
	var not []Unsearched
	for _, u := range unsearched {
		if u != nil {
			not = append(not, *u)
		}
	}
	return out, not, nil
}

// grep returns the first line of the object at key, as filed (its first
// version), that needle matches, trimmed and shortened, or "".
func grep(ctx context.Context, st filing.Store, key string, needle matcher) (string, error) {
	rc, _, err := filing.OpenFirst(ctx, st, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if needle.match(line) {
			return shorten(strings.TrimSpace(line), 160), nil
		}
	}
	return "", sc.Err()
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
