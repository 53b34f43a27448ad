package slack

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"

	slackapi "github.com/slack-go/slack"
)

var (
	userRefRE    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)
	channelRefRE = regexp.MustCompile(`<#(C[A-Z0-9]+|G[A-Z0-9]+)>`)
)

// convert turns Slack messages into capture messages, resolving every
// person and unlabelled channel mentioned once.
func (ss *session) convert(ctx context.Context, msgs []slackapi.Message, ch capture.Channel, permalink string) ([]capture.Message, error) {
	users := make(map[string]bool)
	chans := make(map[string]bool)
	for _, m := range msgs {
		if m.User != "" {
			users[m.User] = true
		}
		for _, r := range m.Reactions {
			for _, u := range r.Users {
				users[u] = true
			}
		}
		t := messageText(&m.Msg)
		for _, sm := range userRefRE.FindAllStringSubmatch(t, -1) {
			users[sm[1]] = true
		}
		for _, sm := range channelRefRE.FindAllStringSubmatch(t, -1) {
			chans[sm[1]] = true
		}
	}
	people := make(map[string]capture.Person, len(users))
	for id := range users {
		p, err := ss.person(ctx, id)
		if err != nil {
			return nil, err
		}
		people[id] = p
	}
	chanNames := make(map[string]string, len(chans))
	for id := range chans {
		chanNames[id] = ss.channelName(ctx, id)
	}
	n := names{
		user:    func(id string) string { return people[id].Name() },
		channel: func(id string) string { return chanNames[id] },
	}

	base, _, _ := strings.Cut(permalink, "?")
	if i := strings.LastIndex(base, "/p"); i >= 0 {
		base = base[:i]
	}
	root := msgs[0].Timestamp
	out := make([]capture.Message, 0, len(msgs))
	for i, m := range msgs {
		at, err := tsTime(m.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("slack message %d: %w", i, err)
		}
		cm := capture.Message{
			ID:       m.Timestamp,
			Position: i,
			Time:     at,
			Text:     m.Text,
			Subtype:  m.SubType,
		}
		switch {
		case m.User != "":
			cm.Author = people[m.User]
		case m.BotID != "":
			cm.Author = capture.Person{ID: m.BotID, Bot: true, DisplayName: m.Username}
			if cm.Author.DisplayName == "" && m.BotProfile != nil {
				cm.Author.DisplayName = m.BotProfile.Name
			}
		}
		if m.BotID != "" {
			cm.Author.Bot = true
		}
		cm.ReadableText = readable(messageText(&m.Msg), n)
		if m.Edited != nil {
			e := &capture.Edit{By: m.Edited.User}
			if t, err := tsTime(m.Edited.Timestamp); err == nil {
				e.At = t
			}
			cm.Edited = e
		}
		for _, r := range m.Reactions {
			cr := capture.Reaction{Emoji: r.Name, Count: r.Count}
			for _, u := range r.Users {
				cr.Users = append(cr.Users, people[u])
			}
			cm.Reactions = append(cm.Reactions, cr)
		}
		for _, f := range m.Files {
			cm.Files = append(cm.Files, ss.file(f))
		}
		if base != "" {
			cm.Permalink = base + "/p" + strings.Replace(m.Timestamp, ".", "", 1)
			if m.Timestamp != root {
				cm.Permalink += "?thread_ts=" + root + "&cid=" + ch.ID
			}
		}
		out = append(out, cm)
	}
	return out, nil
}

// person resolves a user id (users.info), cached per workspace. A user
// Slack no longer knows is kept by id.
func (ss *session) person(ctx context.Context, id string) (capture.Person, error) {
	w := ss.w
	w.mu.Lock()
	c, ok := w.people[id]
	w.mu.Unlock()
	if ok && ss.s.now().Sub(c.at) < ss.s.namesFor {
		return c.v, nil
	}
	var u *slackapi.User
	err := ss.s.call(ctx, w, "users.info", func(ctx context.Context) (err error) {
		u, err = ss.bot.api.GetUserInfoContext(ctx, id)
		return err
	})
	p := capture.Person{ID: id}
	switch {
	case err == nil:
		p.DisplayName = u.Profile.DisplayName
		p.RealName = u.Profile.RealName
		if p.RealName == "" {
			p.RealName = u.RealName
		}
		if p.DisplayName == "" && p.RealName == "" {
			p.DisplayName = u.Name
		}
		p.Bot = u.IsBot
	case slackCode(err) == "user_not_found" || slackCode(err) == "user_not_visible":
		// Kept by id: a person from another organisation or one removed.
	default:
		return capture.Person{}, ss.mapErr(err, capture.Channel{})
	}
	w.mu.Lock()
	w.people[id] = cached[capture.Person]{p, ss.s.now()}
	w.mu.Unlock()
	return p, nil
}

// channelName names a channel mentioned without its name; the id when it
// cannot be read (such as a private channel the bot is not in).
func (ss *session) channelName(ctx context.Context, id string) string {
	w := ss.w
	w.mu.Lock()
	c, ok := w.channels[id]
	w.mu.Unlock()
	if ok && ss.s.now().Sub(c.at) < ss.s.namesFor {
		return c.v
	}
	ch, err := ss.bot.channel(ctx, id)
	if err != nil || ch.Name == "" {
		return id
	}
	return ch.Name
}

// messageText is a message's text with what attachments and blocks add:
// blocks when the message has no text of its own, and each attachment's
// pretext, title, text and fields (its fallback when it has none).
func messageText(m *slackapi.Msg) string {
	text := m.Text
	if strings.TrimSpace(text) == "" {
		text = blocksText(m.Blocks.BlockSet)
	}
	var parts []string
	if text != "" {
		parts = append(parts, text)
	}
	for _, a := range m.Attachments {
		var lines []string
		for _, s := range []string{a.Pretext, a.AuthorName, a.Title, a.Text} {
			if s != "" {
				lines = append(lines, s)
			}
		}
		for _, f := range a.Fields {
			lines = append(lines, f.Title+": "+f.Value)
		}
		if len(lines) == 0 && len(a.Blocks.BlockSet) > 0 {
			if s := blocksText(a.Blocks.BlockSet); s != "" {
				lines = append(lines, s)
			}
		}
		if len(lines) == 0 && a.Fallback != "" {
			lines = append(lines, a.Fallback)
		}
		if a.TitleLink != "" {
			lines = append(lines, a.TitleLink)
		}
		if len(lines) > 0 {
			parts = append(parts, "[attachment] "+strings.Join(lines, "\n"))
		}
	}
	return strings.Join(parts, "\n")
}

// blocksText collects the text of header, section and context blocks.
func blocksText(blocks []slackapi.Block) string {
	var lines []string
	for _, b := range blocks {
		switch b := b.(type) {
		case *slackapi.HeaderBlock:
			if b.Text != nil {
				lines = append(lines, b.Text.Text)
			}
		case *slackapi.SectionBlock:
			if b.Text != nil {
				lines = append(lines, b.Text.Text)
			}
			for _, f := range b.Fields {
				if f != nil {
					lines = append(lines, f.Text)
				}
			}
		case *slackapi.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slackapi.TextBlockObject); ok {
					lines = append(lines, t.Text)
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}

// tsTime turns a Slack ts ("1531420618.000200") into a time.
func tsTime(ts string) (time.Time, error) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}, fmt.Errorf("bad Slack timestamp %q", ts)
	}
	var us int64
	if frac != "" {
		frac = (frac + "000000")[:6]
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("bad Slack timestamp %q", ts)
		}
	}
	return time.Unix(s, us*1000).UTC(), nil
}
