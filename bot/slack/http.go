package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Register adds the Slack routes to mux: the signed request endpoints when
// a signing secret is set, the install pages when OAuth is configured.
func (a *App) Register(mux *http.ServeMux) {
	if a.o.SigningSecret != "" {
		mux.Handle("POST /slack/commands", a.signed(maxCommand, a.serveCommand))
		mux.Handle("POST /slack/interactivity", a.signed(maxInteraction, a.serveInteractivity))
		mux.Handle("POST /slack/options", a.signed(maxOptions, a.serveInteractivity))
		mux.Handle("POST /slack/events", a.signed(maxEvent, a.serveEvents))
	}
	if a.o.ClientID != "" && a.o.Installs != nil {
		mux.HandleFunc("GET /slack/install", a.serveInstall)
		mux.HandleFunc("GET /slack/oauth/callback", a.serveCallback)
	}
	if a.o.Grants != nil {
		mux.HandleFunc("GET /slack/oauth/user-callback", a.serveUserCallback)
	}
}

// The largest body each endpoint reads, sized to what Slack sends it.
// Slack publishes no request size; these follow from its documented
// limits:
//   - A message shortcut carries the whole message: at most 40,000
//     characters of text (https://api.slack.com/changelog/2018-04-truncating-really-long-messages),
//     repeated in its rich_text blocks, JSON in a URL-encoded form. A
//     larger message can still be filed with /record and its link.
//   - The class picker's block_suggestion carries recordbot's own modal
//     (four blocks; private_metadata at most 3,000 characters,
//     https://api.slack.com/reference/surfaces/views).
//   - /record's form fields (https://api.slack.com/interactivity/slash-commands#app_command_handling):
//     a link and a title of at most 250 characters.
//   - Of the events recordbot subscribes to, app_uninstalled and
//     tokens_revoked (https://api.slack.com/events/tokens_revoked) are a
//     few hundred bytes; message.im
//     (https://docs.slack.dev/reference/events/message.im) carries a
//     whole direct message, as large as a shortcut's, with its files.
const (
	maxInteraction = 256 << 10
	maxOptions     = 64 << 10
	maxCommand     = 16 << 10
	maxEvent       = 256 << 10
)

// maxSkew is how old (or how far ahead) a signed request may be.
const maxSkew = 5 * time.Minute

// Errors of signature checking.
var (
	ErrBadSignature = errors.New("slack request signature does not match")
	ErrStale        = errors.New("slack request timestamp is more than 5 minutes away")
)

// checkHeaders checks what can be checked before the body is read, as
// Slack's "Verifying requests from Slack" asks
// (https://api.slack.com/authentication/verifying-requests-from-slack): a
// numeric X-Slack-Request-Timestamp within 5 minutes of now, and an
// X-Slack-Signature of "v0=" and 64 hex digits. It returns the timestamp
// and the signature's bytes.
func checkHeaders(header http.Header, now time.Time) (string, []byte, error) {
	ts := header.Get("X-Slack-Request-Timestamp")
	sig, ok := strings.CutPrefix(header.Get("X-Slack-Signature"), "v0=")
	if ts == "" || !ok {
		return "", nil, fmt.Errorf("%w: signature headers missing", ErrBadSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(ts) > 12 {
		return "", nil, fmt.Errorf("%w: bad timestamp", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return "", nil, ErrStale
	}
	want, err := hex.DecodeString(sig)
	if err != nil || len(want) != sha256.Size {
		return "", nil, fmt.Errorf("%w: malformed signature", ErrBadSignature)
	}
	return ts, want, nil
}

// Verify checks a Slack request signature: X-Slack-Signature must be "v0="
// and the hex HMAC-SHA256 of "v0:<timestamp>:<body>" under secret, and the
// timestamp within 5 minutes of now.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	ts, want, err := checkHeaders(header, now)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
}

// signed checks the signature headers, then reads the body (up to max, or
// MaxBody when set), checks its signature and hands the body to h. A
// request whose headers already fail, or whose declared length is too
// large, is refused without reading its body, and its connection closed.
func (a *App) signed(max int64, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	if a.o.MaxBody > 0 {
		max = a.o.MaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(status int, msg string, err error) {
			a.log.Warn("slack: refused a request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			w.Header().Set("Connection", "close") // the unread body is not drained
			http.Error(w, msg, status)
		}
		if _, _, err := checkHeaders(r.Header, a.now()); err != nil {
			refuse(http.StatusUnauthorized, "invalid signature", err)
			return
		}
		if r.ContentLength > max {
			refuse(http.StatusRequestEntityTooLarge, "request too large", fmt.Errorf("body of %d bytes, over %d", r.ContentLength, max))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				refuse(http.StatusRequestEntityTooLarge, "request too large", err)
				return
			}
			refuse(http.StatusBadRequest, "cannot read request", err)
			return
		}
		if err := Verify(a.o.SigningSecret, r.Header, body, a.now()); err != nil {
			refuse(http.StatusUnauthorized, "invalid signature", err)
			return
		}
		h(w, r, body)
	})
}

// respond writes the acknowledgement with its length (so Slack has the
// whole answer at once) and then does the work that follows it, in this
// request's goroutine, on a context that outlives the request.
func (a *App) respond(w http.ResponseWriter, r *http.Request, k ack) {
	if k.refuse != 0 {
		http.Error(w, http.StatusText(k.refuse), k.refuse)
		return
	}
	var data []byte
	if k.body != nil {
		var err error
		if data, err = json.Marshal(k.body); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if k.after != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), afterTimeout)
		defer cancel()
		k.after(ctx)
	}
}

func (a *App) serveInteractivity(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "no payload", http.StatusBadRequest)
		return
	}
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	a.respond(w, r, a.interaction(r.Context(), &ic))
}

func (a *App) serveCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c, err := slackapi.SlashCommandParse(r2)
	if err != nil {
		http.Error(w, "bad command", http.StatusBadRequest)
		return
	}
	a.respond(w, r, a.command(r.Context(), &c))
}

func (a *App) serveEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch struct {
			Challenge string `json:"challenge"`
		}
		json.Unmarshal(body, &ch)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, ch.Challenge)
		return
	}
	a.respond(w, r, a.event(&ev))
}
