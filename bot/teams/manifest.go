package teams

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The Teams app package: manifest.json and its two icons, in a zip, as
// "App manifest schema" describes them
// (https://learn.microsoft.com/en-us/microsoftteams/platform/resources/schema/manifest-schema):
// a colour icon of 192x192 pixels, and an outline icon of 32x32 pixels,
// white on a transparent background
// (https://learn.microsoft.com/en-us/microsoftteams/platform/concepts/build-and-test/apps-package#app-icons).

// ManifestVersion is the manifest schema version written.
const ManifestVersion = "1.17"

// RSCPermissions are the resource-specific consent permissions recordbot
// asks for, each for one team or one chat, never the organisation's
// ("Resource-specific consent for your Teams app",
// https://learn.microsoft.com/en-us/microsoftteams/platform/graph-api/rsc/resource-specific-consent;
// the Graph calls capture/teams makes name them as their least privileged
// application permissions, e.g. https://learn.microsoft.com/en-us/graph/api/channel-list-allmembers):
//   - ChannelMessage.Read.Group: read this team's channel messages (the
//     thread to file, its inline images);
//   - ChannelSettings.Read.Group: read its channels' names and kinds
//     (standard, private, shared: whose membership counts);
//   - TeamMember.Read.Group: read this team's members (that the person
//     filing is one);
//   - ChannelMember.Read.Group: read a private or shared channel's
//     members;
//   - ChatMessage.Read.Chat: read this chat's messages;
//   - ChatSettings.Read.Chat: read the chat's topic and type;
//   - ChatMember.Read.Chat: read this chat's members.
var RSCPermissions = []string{
	"ChannelMessage.Read.Group", "ChannelSettings.Read.Group", "TeamMember.Read.Group", "ChannelMember.Read.Group",
	"ChatMessage.Read.Chat", "ChatSettings.Read.Chat", "ChatMember.Read.Chat",
}

// ManifestOptions describe the deployment the package is for.
type ManifestOptions struct {
	// AppID is the Azure Bot's Microsoft App ID; the Teams app's id too.
	AppID string
	// PublicURL is the bot's https address; its host is the valid domain.
	PublicURL string
	// Developer is who publishes the app (the organisation), at most
	// 32 characters; "recordbot" when empty.
	Developer string
	// PrivacyURL and TermsURL are the organisation's pages; PublicURL
	// when empty.
	PrivacyURL, TermsURL string
	// Version is the app's version (semantic: 1.0.0 when empty).
	Version string
}

// Manifest returns the app's manifest.json.
func Manifest(o ManifestOptions) ([]byte, error) {
	u, err := url.Parse(o.PublicURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("teams manifest: the public URL must be the bot's https:// address (Teams reaches bots over HTTPS only)")
	}
	if !guidRE(o.AppID) {
		return nil, fmt.Errorf("teams manifest: the app id %q is not a GUID (the Azure Bot's Microsoft App ID)", o.AppID)
	}
	dev := o.Developer
	if dev == "" {
		dev = "recordbot"
	}
	if utf8.RuneCountInString(dev) > 32 {
		return nil, fmt.Errorf("teams manifest: the developer name %q is over 32 characters", dev)
	}
	site := strings.TrimRight(o.PublicURL, "/")
	privacy, terms := o.PrivacyURL, o.TermsURL
	if privacy == "" {
		privacy = site
	}
	if terms == "" {
		terms = site
	}
	for _, s := range []string{privacy, terms} {
		if p, err := url.Parse(s); err != nil || p.Scheme != "https" {
			return nil, fmt.Errorf("teams manifest: %q is not an https:// address", s)
		}
	}
	version := o.Version
	if version == "" {
		version = "1.0.0"
	}
	var rsc []map[string]string
	for _, p := range RSCPermissions {
		rsc = append(rsc, map[string]string{"name": p, "type": "Application"})
	}
	m := map[string]any{
		"$schema":         "https://developer.microsoft.com/en-us/json-schemas/teams/v" + ManifestVersion + "/MicrosoftTeams.schema.json",
		"manifestVersion": ManifestVersion,
		"version":         version,
		"id":              o.AppID,
		"developer": map[string]string{
			"name": dev, "websiteUrl": site, "privacyUrl": privacy, "termsOfUseUrl": terms,
		},
		"name": map[string]string{"short": "recordbot", "full": "recordbot: file conversations as records"},
		"description": map[string]string{
			"short": "File a channel thread or group chat as a record in the file plan.",
			"full": "File as record, in the … menu of any message, files its channel thread (or the chosen messages of a group chat) " +
				"as an immutable record in the organisation's file plan, with its class, security marking and retention. " +
				"recordbot reads only the teams and chats it is added to, and only when someone in them asks.",
		},
		"icons":       map[string]string{"color": "color.png", "outline": "outline.png"},
		"accentColor": "#2E5A88",
		// supportsFiles lets a person send the bot a file (a WhatsApp
		// export) in their personal chat with it ("Configure the bot to
		// support files",
		// https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/bots-filesv4).
		"bots": []any{map[string]any{
			"botId": o.AppID, "scopes": []string{"personal", "team", "groupChat"}, "supportsFiles": true, "isNotificationOnly": false,
		}},
		"composeExtensions": []any{map[string]any{
			"botId": o.AppID,
			"commands": []any{map[string]any{
				"id": CommandID, "type": "action", "title": "File as record",
				"description": "File this conversation as a record in the file plan",
				"context":     []string{"message"}, "fetchTask": true,
			}},
		}},
		"permissions":        []string{"identity"},
		"validDomains":       []string{u.Hostname()},
		"webApplicationInfo": map[string]string{"id": o.AppID, "resource": "api://" + u.Hostname() + "/" + o.AppID},
		"authorization":      map[string]any{"permissions": map[string]any{"resourceSpecific": rsc}},
	}
	return json.MarshalIndent(m, "", "  ")
}

func guidRE(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// Package writes the app package (a zip of manifest.json, color.png and
// outline.png) to w.
func Package(w io.Writer, o ManifestOptions) error {
	man, err := Manifest(o)
	if err != nil {
		return err
	}
	z := zip.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", man}, {"color.png", icon(192, false)}, {"outline.png", icon(32, true)}} {
		fw, err := z.Create(f.name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return z.Close()
}

// icon draws recordbot's icon at size: a page with a folded corner and
// lines of text. The colour icon is white on the accent colour; the
// outline icon is white on transparent, as Teams asks.
func icon(size int, outline bool) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	white := color.NRGBA{255, 255, 255, 255}
	if !outline {
		accent := color.NRGBA{0x2E, 0x5A, 0x88, 255}
		for y := range size {
			for x := range size {
				img.SetNRGBA(x, y, accent)
			}
		}
	}
	s := float64(size)
	left, right, top, bottom := int(s*0.25), int(s*0.75), int(s*0.15), int(s*0.85)
	stroke := max(1, size/24)
	fold := int(s * 0.15)
	for y := top; y < bottom; y++ {
		for x := left; x < right; x++ {
			edge := x < left+stroke || x >= right-stroke || y < top+stroke || y >= bottom-stroke
			inFold := x >= right-fold && y < top+fold
			diag := x-(right-fold) >= y-top-stroke && x-(right-fold) <= y-top+stroke
			if (edge && !inFold) || (inFold && diag) {
				img.SetNRGBA(x, y, white)
			}
		}
	}
	for i := 1; i <= 3; i++ {
		y0 := top + int(s*0.15) + i*int(s*0.14)
		for y := y0; y < y0+stroke && y < bottom; y++ {
			for x := left + 2*stroke + int(s*0.04); x < right-2*stroke-int(s*0.04); x++ {
				img.SetNRGBA(x, y, white)
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
