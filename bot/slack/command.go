package slack

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/bot"
)

// Link is a Slack message link taken apart.
type Link struct {
	// Host is the link's host ("acme.slack.com", "app.slack.com").
	Host    string
	Channel string
	// TS is the linked message; ThreadTS its thread's root when the link
	// says (replies' links carry ?thread_ts=).
	TS, ThreadTS string
}

// Root returns the thread's root ts: ThreadTS when known, else TS.
func (l Link) Root() string {
	if l.ThreadTS != "" {
		return l.ThreadTS
	}
	return l.TS
}

var (
	archivesRE = regexp.MustCompile(`^/archives/([CDG][A-Z0-9]+)/p(\d{10})(\d{6})$`)
	clientRE   = regexp.MustCompile(`^/client/[TE][A-Z0-9]+/([CDG][A-Z0-9]+)(?:/thread/[CDG][A-Z0-9]+-(\d{10}\.\d{6}))?(?:/p(\d{10})(\d{6}))?/?$`)
	tsRE       = regexp.MustCompile(`^\d{10}\.\d{6}$`)
)

// ParseLink reads every form of message link Slack produces:
//
//	https://acme.slack.com/archives/C123/p1700000000000100
//	https://acme.slack.com/archives/C123/p1700000100000200?thread_ts=1700000000.000100&cid=C123
//	https://app.slack.com/client/T123/C123/thread/C123-1700000000.000100
//	https://app.slack.com/client/T123/C123/p1700000000000100
//
// and the same wrapped in <...> (with a |label) as Slack escapes links in
// command text.
func ParseLink(s string) (Link, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
		s, _, _ = strings.Cut(s, "|")
	}
	s = strings.ReplaceAll(s, "&amp;", "&")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Link{}, bot.Unusable("that is not a link", nil)
	}
	host := strings.ToLower(u.Hostname())
	if host != "slack.com" && !strings.HasSuffix(host, ".slack.com") {
		return Link{}, bot.Unusable(host+" is not a Slack address", nil)
	}
	l := Link{Host: host}
	if m := archivesRE.FindStringSubmatch(u.Path); m != nil {
		l.Channel, l.TS = m[1], m[2]+"."+m[3]
	} else if m := clientRE.FindStringSubmatch(u.Path); m != nil && (m[2] != "" || m[3] != "") {
		l.Channel = m[1]
		if m[3] != "" {
			l.TS = m[3] + "." + m[4]
		}
		if m[2] != "" {
			l.ThreadTS = m[2]
			if l.TS == "" {
				l.TS = m[2]
			}
		}
	} else {
		return Link{}, bot.Unusable("that link does not point at a message (use the message's ⋮ menu > Copy link)", nil)
	}
	if ts := u.Query().Get("thread_ts"); ts != "" {
		if !tsRE.MatchString(ts) {
			return Link{}, bot.Unusable("the link's thread_ts is not a Slack timestamp", nil)
		}
		l.ThreadTS = ts
	}
	if cid := u.Query().Get("cid"); cid != "" && cid != l.Channel {
		return Link{}, bot.Unusable("the link names two different channels", nil)
	}
	return l, nil
}

// Command is the slash command recordbot answers to.
const Command = "/record"

const helpText = "*Filing a Slack thread as a record*\n" +
	"• On any message of the thread (the first one or a reply), open the message's ⋮ menu and choose *File as record*. " +
	"(If it is not listed, choose *More message shortcuts…* and find recordbot.)\n" +
	"• Or type `/record <message link> [title]`: copy the link from the message's ⋮ menu > *Copy link*.\n" +
	"• A form asks for a title, the file plan class (type a code or words of its title), the security marking and an optional description.\n" +
	"• recordbot must be in the channel: `/invite @recordbot`. You must be a member of it too.\n" +
	"• Direct and group messages, which recordbot cannot join: the first time, recordbot asks you to allow it to read the conversations you file " +
	"(a link to Slack's permission page); it then reads one with your permission when you file it. `/record forget-me` takes the permission back.\n" +
	"• You see “Filing…” at once, then where the record was filed."

// command answers /record.
func (a *App) command(ctx context.Context, c *slackapi.SlashCommand) ack {
	if err := a.caller(c.TeamID, c.EnterpriseID, c.UserID); err != nil {
		a.log.Warn("slack: refused a command", "team", c.TeamID, "user", c.UserID, "err", err)
		if errors.Is(err, ErrNotAllowed) {
			return ack{body: ephemeralBody("recordbot does not serve this workspace.")}
		}
		return ack{refuse: http.StatusBadRequest}
	}
	text := strings.TrimSpace(c.Text)
	first, rest, _ := strings.Cut(text, " ")
	switch strings.ToLower(first) {
	case "":
		return ack{body: ephemeralBody("To file a thread, use the *File as record* shortcut on any of its messages (⋮ menu), " +
			"or `/record <message link> [title]`. Slash commands cannot see threads, so they need a link. `/record help` tells more.")}
	case "help", "-h", "--help", "?":
		return ack{body: ephemeralBody(helpText)}
	case "forget-me":
		return a.forgetMe(ctx, c.TeamID, c.ChannelID, c.UserID)
	}
	l, err := ParseLink(first)
	if err != nil {
		return ack{body: ephemeralBody("I could not use “" + cut(first, 80) + "”: " + a.voice(c.TeamID, c.UserID).Why(err, "that is not a message link") +
			". Give a message link: `/record https://….slack.com/archives/C…/p… [title]`.")}
	}
	if c.TeamDomain != "" && strings.HasSuffix(l.Host, ".slack.com") && l.Host != "app.slack.com" {
		sub := strings.TrimSuffix(l.Host, ".slack.com")
		if sub != c.TeamDomain && !strings.HasPrefix(sub, c.TeamDomain+".") {
			return ack{body: ephemeralBody("That link is from another workspace (" + l.Host + "); recordbot here can file threads of this workspace only.")}
		}
	}
	t := target{Team: c.TeamID, Enterprise: c.EnterpriseID, Channel: l.Channel, Root: l.Root(), Message: l.TS, Via: "slack command"}
	title := strings.TrimSpace(rest)
	trigger, user, channel := c.TriggerID, c.UserID, c.ChannelID
	return ack{after: func(ctx context.Context) {
		if err := a.openModal(ctx, trigger, t, user, title, ""); err != nil {
			a.cannotOpen(ctx, t, channel, user, err, "Try again.")
		}
	}}
}

func ephemeralBody(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": text}
}
