package index

import (
	"slices"
	"strings"
	"unicode"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
)

// phoneTail is how many trailing digits of a phone number the index keeps
// as a token: a number is found by its last digits, however its prefix
// and spacing are written, then checked in full against the text.
const phoneTail = 7

// tokens splits s into the words the index keeps: folded as Find folds
// (case, accents, width), runs of letters and digits; each Han, kana or
// Hangul character is a word of its own, as those scripts put no spaces
// between words. Both index engines are given these words already made,
// separated by spaces, so they tokenise them the same way.
func tokens(s string) []string {
	var out []string
	var cur strings.Builder
	end := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range records.Fold(s) {
		switch {
		case ideographic(r):
			end()
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			cur.WriteRune(r)
		default:
			end()
		}
	}
	end()
	return out
}

// ideographic reports whether r is written without spaces between words.
func ideographic(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// phoneTokens returns a token for each phone number in s: "tel" and its
// last phoneTail digits.
func phoneTokens(s string) []string {
	var out []string
	for _, n := range records.PhoneNumbers(s) {
		if len(n) >= phoneTail {
			out = append(out, "tel"+n[len(n)-phoneTail:])
		}
	}
	return out
}

// Query is a search as a person typed it, parsed: words (each found as the
// start of a word), phrases in double quotes (words in that order), and a
// phone number when the whole query is one.
type Query struct {
	// Text is the query as typed.
	Text string
	// Terms are the phrases to find, each a list of words; a single word
	// is a phrase of one. All must be found.
	Terms [][]string
	// Phone is the digits of the number searched for, without prefix, or
	// "".
	Phone string
}

// Parse reads a search.
func Parse(q string) Query {
	out := Query{Text: strings.TrimSpace(q), Phone: records.PhoneQuery(q)}
	if out.Phone != "" {
		return out
	}
	rest := q
	for rest != "" {
		before, quoted, found := strings.Cut(rest, `"`)
		for _, w := range tokens(before) {
			out.Terms = append(out.Terms, []string{w})
		}
		if !found {
			break
		}
		phrase, after, _ := strings.Cut(quoted, `"`)
		if ws := tokens(phrase); len(ws) > 0 {
			out.Terms = append(out.Terms, ws)
		}
		rest = after
	}
	return out
}

// Empty reports whether q finds nothing.
func (q Query) Empty() bool { return q.Phone == "" && len(q.Terms) == 0 }

// matchLine reports whether every term of q is in the line's words (a
// term's last word as the start of a word), or the phone number in it.
func (q Query) matchLine(line string) bool {
	if q.Phone != "" {
		return records.Matches(q.Text, line)
	}
	return q.matchWords(tokens(line))
}

// matchWords reports whether every term of q is found in words.
func (q Query) matchWords(words []string) bool {
	for _, t := range q.Terms {
		if !hasPhrase(words, t) {
			return false
		}
	}
	return len(q.Terms) > 0
}

// hasPhrase reports whether words holds phrase: its words in order, the
// last one as the start of a word.
func hasPhrase(words, phrase []string) bool {
	n := len(phrase)
	for i := 0; i+n <= len(words); i++ {
		ok := true
		for j, p := range phrase {
			w := words[i+j]
			if j == n-1 {
				ok = strings.HasPrefix(w, p)
			} else {
				ok = w == p
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// words returns every word of q's terms, once each.
func (q Query) words() []string {
	var out []string
	for _, t := range q.Terms {
		for _, w := range t {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// inRecord reports whether a record holds q: its phone number in any
// field or line, or each term in its title and channel, its people, or
// its transcript (a phrase within one of those, as the index keeps them).
func (q Query) inRecord(e filing.IndexEntry, text string) bool {
	fields := metaText(e)
	people := peopleText(e)
	if q.Phone != "" {
		if records.Matches(q.Text, fields) || records.Matches(q.Text, people) {
			return true
		}
		for line := range strings.Lines(text) {
			if records.Matches(q.Text, line) {
				return true
			}
		}
		return false
	}
	cols := [][]string{tokens(fields), tokens(people), bodyWords(text)}
	for _, t := range q.Terms {
		if !slices.ContainsFunc(cols, func(ws []string) bool { return hasPhrase(ws, t) }) {
			return false
		}
	}
	return len(q.Terms) > 0
}

// metaText is the text of a record's title and channel, as indexed.
func metaText(e filing.IndexEntry) string { return e.Title + "\n" + e.Channel }

// peopleText is the text of a record's participants and filer, as
// indexed.
func peopleText(e filing.IndexEntry) string {
	return strings.Join(append(slices.Clone(e.Participants), filing.Label(e.FiledBy), e.FiledBy.ID), "\n")
}

// bodyWords are the words of a transcript, as indexed: each line's words
// then its phone tokens.
func bodyWords(text string) []string {
	var words []string
	for line := range strings.Lines(text) {
		words = append(words, tokens(line)...)
		words = append(words, phoneTokens(line)...)
	}
	return words
}
