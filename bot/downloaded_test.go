package bot_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/recordbot/recordbot/bot"
)

type closeCount struct {
	io.Reader
	closed int
}

func (c *closeCount) Close() error { c.closed++; return nil }

// TestDownloaded: a platform's answer to a file's download is streamed
// only when it is 200 and not said to be over MaxUpload; otherwise its
// body is closed and the reason given.
func TestDownloaded(t *testing.T) {
	for _, c := range []struct {
		status int
		length int64
		want   error
		says   string
	}{
		{http.StatusOK, 5, nil, ""},
		{http.StatusOK, -1, nil, ""},
		{http.StatusNotFound, 5, nil, "HTTP 404"},
		{http.StatusOK, bot.MaxUpload + 1, bot.ErrTooLarge, ""},
	} {
		body := &closeCount{Reader: strings.NewReader("hello")}
		rc, err := bot.Downloaded(&http.Response{StatusCode: c.status, ContentLength: c.length, Body: body}, nil)
		switch {
		case c.want == nil && c.says == "":
			if err != nil || rc == nil || body.closed != 0 {
				t.Errorf("HTTP %d, %d bytes: %v (closed %d)", c.status, c.length, err, body.closed)
			}
		default:
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.says) || body.closed != 1 {
				t.Errorf("HTTP %d, %d bytes: %v (closed %d)", c.status, c.length, err, body.closed)
			}
		}
	}
	sent := errors.New("connection refused")
	if _, err := bot.Downloaded(nil, sent); !errors.Is(err, sent) {
		t.Errorf("a failed request: %v", err)
	}
}
