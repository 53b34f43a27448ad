package mattermost

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// Permalink returns the link Mattermost shows for a post:
// <server>/<team name>/pl/<post id>. Without a team name (direct messages
// seen from no team) it uses the server's own redirect, <server>/_redirect/pl/<id>.
func Permalink(server, teamName, postID string) string {
	if teamName == "" {
		teamName = "_redirect"
	}
	return strings.TrimRight(server, "/") + "/" + url.PathEscape(teamName) + "/pl/" + postID
}

// ParsePermalink reads a post link copied from Mattermost ("Copy Link"):
// <server>/<team>/pl/<post id>, with or without the server part. It
// returns the team name and post id. server, when not empty, must match
// the link's scheme and host.
func ParsePermalink(server, link string) (team, postID string, err error) {
	link = strings.Trim(strings.TrimSpace(link), "<>")
	u, err := url.Parse(link)
	if err != nil {
		return "", "", fmt.Errorf("%q is not a Mattermost post link", link)
	}
	if u.Host != "" && server != "" {
		su, err := url.Parse(server)
		if err == nil && !strings.EqualFold(su.Host, u.Host) {
			return "", "", fmt.Errorf("%q links to another server (%s), not %s", link, u.Host, su.Host)
		}
	}
	p := u.Path
	if server != "" {
		if su, err := url.Parse(server); err == nil && su.Path != "" && u.Host != "" {
			p = strings.TrimPrefix(p, strings.TrimRight(su.Path, "/"))
		}
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) != 3 || parts[1] != "pl" || !model.IsValidId(parts[2]) {
		return "", "", fmt.Errorf("%q is not a Mattermost post link (want https://server/team/pl/POSTID, from the post's \"Copy Link\")", link)
	}
	return parts[0], parts[2], nil
}
