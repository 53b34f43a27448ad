package capture

import (
	"context"
	"slices"
	"sort"
	"time"
)

// MessageStream gives a thread's messages in order, each time Each is
// called: a long chat read from a file is read again rather than held.
type MessageStream interface {
	// Len is the number of messages Each gives.
	Len() int
	// Each calls fn with each message in thread order and stops at the
	// first error fn returns, which it returns. It fails too when the
	// messages cannot be read again as they were (the source changed)
	// or ctx is done. m is fn's own: changing it changes nothing else,
	// but fn keeps nothing of it beyond the call, so that a pass holds a
	// message at a time.
	Each(ctx context.Context, fn func(m *Message) error) error
}

// Len returns the number of the thread's messages.
func (t *Thread) Len() int {
	if t.Stream != nil {
		return t.Stream.Len()
	}
	return len(t.Messages)
}

// Each calls fn with each of the thread's messages in order, from Stream
// when it is set, else from Messages: see MessageStream.Each. Changing m
// does not change the thread, though the slices in it (Files,
// Reactions) are shared: copy one before changing its elements.
func (t *Thread) Each(ctx context.Context, fn func(m *Message) error) error {
	if t.Stream != nil {
		return t.Stream.Each(ctx, fn)
	}
	for i := range t.Messages {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		m := t.Messages[i]
		if err := fn(&m); err != nil {
			return err
		}
	}
	return nil
}

// Survey gathers, a message at a time, what Participants and Span say of
// a whole thread: for code that goes through a thread's messages for
// something else too, as a stream is read again at each pass.
type Survey struct {
	n           int
	first, last time.Time
	seen        map[string]bool
	authors     []Person
	reacted     map[string]Person
	unavailable int
}

// Add takes in the thread's next message.
func (s *Survey) Add(m *Message) {
	if s.n == 0 || m.Time.Before(s.first) {
		s.first = m.Time
	}
	if m.Time.After(s.last) {
		s.last = m.Time
	}
	s.n++
	if s.seen == nil {
		s.seen, s.reacted = make(map[string]bool), make(map[string]Person)
	}
	if p := m.Author; p.ID != "" && !s.seen[p.ID] {
		s.seen[p.ID] = true
		s.authors = append(s.authors, p)
	}
	for _, r := range m.Reactions {
		for _, u := range r.Users {
			if _, ok := s.reacted[u.ID]; !ok && u.ID != "" {
				s.reacted[u.ID] = u
			}
		}
	}
	for _, f := range m.Files {
		if f.Error != "" {
			s.unavailable++
		}
	}
}

// Unavailable counts the files of the messages added that the platform
// did not give (File.Error set): kept in the record as a name, a link and
// the reason only.
func (s *Survey) Unavailable() int { return s.unavailable }

// Participants is Thread.Participants of the messages added: a reactor
// who also wrote is listed as an author.
func (s *Survey) Participants() []Person {
	out := slices.Clone(s.authors)
	var reactors []Person
	for id, u := range s.reacted {
		if !s.seen[id] {
			reactors = append(reactors, u)
		}
	}
	sort.Slice(reactors, func(i, j int) bool { return reactors[i].ID < reactors[j].ID })
	return append(out, reactors...)
}

// Span is Thread.Span of the messages added.
func (s *Survey) Span() (first, last time.Time) { return s.first, s.last }
