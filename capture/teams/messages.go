package teams

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/recordbot/recordbot/capture"
)

// pageSize is the $top asked of Graph: the most it allows for channel
// replies and chat messages ("Maximum allowed $top value is 50",
// https://learn.microsoft.com/graph/api/chatmessage-list-replies and
// https://learn.microsoft.com/graph/api/chat-list-messages).
const pageSize = 50

// maxMessages bounds one capture: a conversation longer than this is
// refused rather than read without end.
const maxMessages = 100000

// Capture implements capture.Source: it checks that requester may file
// the conversation, then snapshots a channel thread (root and every
// reply) or the chosen messages of a chat.
func (s *Source) Capture(ctx context.Context, ref capture.Ref, requester capture.Person) (*capture.Thread, error) {
	c, err := s.open(ctx, ref, requester)
	if err != nil {
		return nil, err
	}
	var msgs []gMessage
	if c.t.IsChat() {
		msgs, err = s.chatMessages(ctx, c)
	} else {
		msgs, err = s.thread(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	th := &capture.Thread{
		SchemaVersion: capture.SchemaVersion,
		Platform:      capture.Teams,
		Workspace:     capture.Workspace{ID: cmp.Or(c.t.Team, c.t.Tenant), Domain: c.t.Tenant},
		Channel:       c.channel,
		ThreadID:      msgs[0].ID,
		Permalink:     cmp.Or(msgs[0].WebURL, c.webURL),
		CapturedAt:    s.clock.Now().UTC(),
		ReadAs:        "bot",
	}
	if c.t.IsChat() {
		th.ThreadID = string(c.t.Scope) + ":" + msgs[0].ID
	}
	th.Messages, err = s.convert(ctx, c, msgs, requester)
	if err != nil {
		return nil, err
	}
	if err := th.Validate(); err != nil {
		return nil, err
	}
	return th, nil
}

// Resolve implements capture.Resolver: it checks as Member does, then
// reads the thread's root (a channel) or the acted-on message (a chat),
// and returns the ref with the root as the thread and its text rendered
// for people (a title can be suggested from it).
func (s *Source) Resolve(ctx context.Context, ref capture.Ref, requester capture.Person) (capture.Preview, error) {
	c, err := s.open(ctx, ref, requester)
	if err != nil {
		return capture.Preview{}, err
	}
	t := c.t
	var m gMessage
	if t.IsChat() {
		m, err = s.chatMessage(ctx, c, cmp.Or(t.Acted, t.From))
	} else {
		m, err = s.root(ctx, c)
	}
	if err != nil {
		return capture.Preview{}, err
	}
	if !t.IsChat() {
		if t.Acted == "" && m.ID != t.From {
			t.Acted = t.From
		}
		t.From = m.ID
	}
	return capture.Preview{Ref: t.Ref(), Text: render(&m, c.names).text}, nil
}

// channelBase is the Graph path of a channel's messages.
func channelBase(t Target) string {
	return "/teams/" + seg(t.Team) + "/channels/" + seg(t.Channel) + "/messages"
}

// root reads the thread's root message: From, or the message From
// replies to (https://learn.microsoft.com/graph/api/chatmessage-get).
func (s *Source) root(ctx context.Context, c *convo) (gMessage, error) {
	var m gMessage
	if err := s.getJSON(ctx, channelClass, c.t.Team, channelBase(c.t)+"/"+seg(c.t.From), s.appTok, &m); err != nil {
		return m, s.mapErr(err, c.t)
	}
	if m.ReplyToID != "" && m.ReplyToID != m.ID {
		var r gMessage
		if err := s.getJSON(ctx, channelClass, c.t.Team, channelBase(c.t)+"/"+seg(m.ReplyToID), s.appTok, &r); err != nil {
			return r, s.mapErr(err, c.t)
		}
		return r, nil
	}
	return m, nil
}

// thread reads a channel thread: the root, then every reply, 50 a page,
// following @odata.nextLink; returned oldest first.
func (s *Source) thread(ctx context.Context, c *convo) ([]gMessage, error) {
	root, err := s.root(ctx, c)
	if err != nil {
		return nil, err
	}
	var replies []gMessage
	next := channelBase(c.t) + "/" + seg(root.ID) + "/replies?$top=" + strconv.Itoa(pageSize)
	var pg pages
	for next != "" {
		if err := pg.next(next); err != nil {
			return nil, err
		}
		var p page[gMessage]
		if err := s.getJSON(ctx, channelClass, c.t.Team, next, s.appTok, &p); err != nil {
			return nil, s.mapErr(err, c.t)
		}
		replies = append(replies, p.Value...)
		if len(replies) > maxMessages {
			return nil, fmt.Errorf("teams thread %s: more than %d replies", root.ID, maxMessages)
		}
		next = p.NextLink
	}
	// Graph lists replies newest first; a thread reads oldest first.
	sortOldestFirst(replies)
	return append([]gMessage{root}, replies...), nil
}

func sortOldestFirst(ms []gMessage) {
	slices.SortStableFunc(ms, func(a, b gMessage) int {
		if c := a.created().Compare(b.created()); c != 0 {
			return c
		}
		return cmp.Compare(idNum(a.ID), idNum(b.ID))
	})
}

// idNum is a message id's number: Teams message ids are the milliseconds
// of their posting.
func idNum(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// chatMessage reads one chat message.
func (s *Source) chatMessage(ctx context.Context, c *convo, id string) (gMessage, error) {
	var m gMessage
	err := s.getJSON(ctx, chatClass, "", "/chats/"+seg(c.t.Channel)+"/messages/"+seg(id), s.appTok, &m)
	if err != nil {
		return m, s.mapErr(err, c.t)
	}
	return m, nil
}

// chatMessages reads the chosen messages of a chat: the one acted on, its
// day in the person's time zone, or from a chosen message to the acted-on
// one. Graph lists chat messages newest first; the listing is ordered by
// createdDateTime and filtered to before the range's end, and paging stops
// at the first page that reaches back past its start
// (https://learn.microsoft.com/graph/api/chat-list-messages: $orderby
// createdDateTime desc with $filter createdDateTime lt).
func (s *Source) chatMessages(ctx context.Context, c *convo) ([]gMessage, error) {
	t := c.t
	acted, err := s.chatMessage(ctx, c, cmp.Or(t.Acted, t.From))
	if err != nil {
		return nil, err
	}
	if acted.created().IsZero() {
		return nil, fmt.Errorf("teams chat message %s: no readable time", acted.ID)
	}
	var from, to time.Time // the range, both ends included
	switch t.Scope {
	case Message:
		return []gMessage{acted}, nil
	case Day:
		d := acted.created().In(t.Zone)
		from = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, t.Zone)
		to = from.AddDate(0, 0, 1).Add(-time.Millisecond)
	case Since:
		first := acted
		if t.From != acted.ID {
			if first, err = s.chatMessage(ctx, c, t.From); err != nil {
				return nil, err
			}
		}
		from, to = first.created(), acted.created()
		if to.Before(from) {
			from, to = to, from
		}
	default:
		return nil, fmt.Errorf("teams chat: scope %q", t.Scope)
	}
	q := url.Values{
		"$top":     {strconv.Itoa(pageSize)},
		"$orderby": {"createdDateTime desc"},
		"$filter":  {"createdDateTime lt " + to.Add(time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")},
	}
	next := "/chats/" + seg(t.Channel) + "/messages?" + q.Encode()
	var out []gMessage
	var pg pages
	for next != "" {
		if err := pg.next(next); err != nil {
			return nil, err
		}
		var p page[gMessage]
		if err := s.getJSON(ctx, chatClass, "", next, s.appTok, &p); err != nil {
			return nil, s.mapErr(err, t)
		}
		past := false
		for _, m := range p.Value {
			at := m.created()
			switch {
			case at.Before(from):
				past = true
			case !at.After(to):
				out = append(out, m)
			}
		}
		if len(out) > maxMessages {
			return nil, fmt.Errorf("teams chat %s: more than %d messages in range", t.Channel, maxMessages)
		}
		if past {
			break
		}
		next = p.NextLink
	}
	if len(out) == 0 {
		return nil, &capture.Problem{Kind: capture.NotFound, Advice: "no messages of the chat fall in the chosen range",
			Err: errors.New("teams chat: empty range")}
	}
	sortOldestFirst(out)
	return out, nil
}

// pages guards a paging loop against a server that never stops: a next
// link seen before, or more pages than the most messages a capture takes
// could fill.
type pages struct {
	seen map[string]bool
}

func (p *pages) next(link string) error {
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	if p.seen[link] {
		return fmt.Errorf("graph %s: the next page link repeats; paging stopped", pathLabel(link))
	}
	if len(p.seen) > 2*maxMessages/pageSize {
		return fmt.Errorf("graph %s: more than %d pages; paging stopped", pathLabel(link), len(p.seen))
	}
	p.seen[link] = true
	return nil
}
