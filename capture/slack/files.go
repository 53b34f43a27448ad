package slack

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/recordbot/recordbot/capture"
)

// file describes a Slack file; its Open streams url_private with the
// workspace's token. Files Slack cannot give (deleted, hidden by the plan's
// limits, links to outside storage) keep their metadata and say why in Error.
func (ss *session) file(f slackapi.File) capture.File {
	cf := capture.File{ID: f.ID, Name: f.Name, MIMEType: f.Mimetype, Size: int64(f.Size)}
	if cf.Name == "" {
		cf.Name = f.Title
	}
	if cf.Name == "" {
		cf.Name = f.ID
	}
	switch {
	case f.Mode == "tombstone":
		cf.Error = "the file was deleted from Slack before capture"
		cf.Size = -1
		return cf
	case f.Mode == "hidden_by_limit":
		cf.Error = "Slack hides this file (the workspace's plan limits file history)"
		cf.Size = -1
		return cf
	case f.IsExternal || f.Mode == "external":
		cf.Error = "the file is stored outside Slack (" + f.ExternalType + "); only its link is kept"
		if f.ExternalURL != nil {
			cf.Source = *f.ExternalURL
		}
		return cf
	}
	cf.Source = f.URLPrivateDownload
	if cf.Source == "" {
		cf.Source = f.URLPrivate
	}
	if cf.Source == "" {
		cf.Error = "Slack gave no download address for the file"
		return cf
	}
	if origin, ok := ss.s.fileOriginOK(cf.Source); !ok {
		cf.Error = "not downloaded: the file's address is not on Slack's file host (" + origin + "), and recordbot sends the workspace's token only there"
		return cf
	}
	src, mimeType, s, tok := cf.Source, cf.MIMEType, ss.s, ss.fileToken
	cf.Open = func(ctx context.Context) (io.ReadCloser, error) {
		return s.download(ctx, tok, src, mimeType)
	}
	return cf
}

// download streams a private file. Slack answers a request without a
// valid token (or without files:read) with 200 and its HTML sign-in page,
// so an HTML answer for a file that is not HTML is an error.
func (s *Source) download(ctx context.Context, token func(context.Context) (string, error), src, mimeType string) (io.ReadCloser, error) {
	if origin, ok := s.fileOriginOK(src); !ok {
		return nil, fmt.Errorf("download slack file: %s is not Slack's file host; the token is not sent there", origin)
	}
	tok, err := token(ctx)
	if err != nil {
		return nil, fmt.Errorf("download slack file: %w", err)
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("download slack file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("download slack file: %w", err)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			resp.Body.Close()
			// Slack's "0" is waited out as a second, as before.
			wait := max(capture.RetryAfter(resp.Header, s.now()), time.Second)
			s.calls429.Add(1)
			if wait > s.maxWait || attempt >= s.maxRetries {
				return nil, fmt.Errorf("download slack file: %w", rateLimited(wait))
			}
			if err := s.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusNotFound, http.StatusGone:
				return nil, fmt.Errorf("download slack file: Slack says it is gone (HTTP %d): %w", resp.StatusCode, capture.ErrNotFound)
			case http.StatusUnauthorized, http.StatusForbidden:
				return nil, fmt.Errorf("download slack file: refused (HTTP %d): the app needs the files:read scope; update it from manifest.yml and reinstall", resp.StatusCode)
			}
			return nil, fmt.Errorf("download slack file: HTTP %d", resp.StatusCode)
		}
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if ct == "text/html" && !strings.HasPrefix(strings.ToLower(mimeType), "text/html") {
			resp.Body.Close()
			return nil, fmt.Errorf("download slack file: Slack sent its sign-in page instead of the file: the app needs the files:read scope; update it from manifest.yml and reinstall")
		}
		return resp.Body, nil
	}
}

// DefaultFileOrigins are where Slack serves a file's url_private and
// url_private_download, which need the bot token
// (https://api.slack.com/types/file#auth: "send an Authorization header
// with a bearer token"; the file object's URLs are on files.slack.com).
var DefaultFileOrigins = []string{"https://files.slack.com"}

// fileOriginOK reports whether the token may be sent to the file address
// raw, with the address's origin for messages.
func (s *Source) fileOriginOK(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "an address that is not a URL", false
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	return origin, s.fileOrigin[origin]
}

// Download streams a file a person shared with the bot, such as a chat
// export sent in its Messages tab, with the workspace's bot token. As
// for a thread's files, the token is sent only to Slack's file host
// (FileOrigins).
func (s *Source) Download(ctx context.Context, teamID, src, mimeType string) (io.ReadCloser, error) {
	return s.download(ctx, func(ctx context.Context) (string, error) { return s.token(ctx, teamID) }, src, mimeType)
}
