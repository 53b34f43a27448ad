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
		mux.Handle("POST /slack/commands", a.signed(a.serveCommand))
		mux.Handle("POST /slack/interactivity", a.signed(a.serveInteractivity))
		mux.Handle("POST /slack/options", a.signed(a.serveInteractivity))
		mux.Handle("POST /slack/events", a.signed(a.serveEvents))
	}
	if a.o.ClientID != "" {
		mux.HandleFunc("GET /slack/install", a.serveInstall)
		mux.HandleFunc("GET /slack/oauth/callback", a.serveCallback)
	}
}

// maxSkew is how old (or how far ahead) a signed request may be.
const maxSkew = 5 * time.Minute

// Errors of signature checking.
var (
	ErrBadSignature = errors.New("slack request signature does not match")
	ErrStale        = errors.New("slack request timestamp is more than 5 minutes away")
)

// Verify checks a Slack request signature: X-Slack-Signature must be "v0="
// and the hex HMAC-SHA256 of "v0:<timestamp>:<body>" under secret, and the
// timestamp within 5 minutes of now.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	ts := header.Get("X-Slack-Request-Timestamp")
	sig, ok := strings.CutPrefix(header.Get("X-Slack-Signature"), "v0=")
	if ts == "" || !ok {
		return fmt.Errorf("%w: signature headers missing", ErrBadSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return ErrStale
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
}

// signed reads the body (up to MaxBody), checks its signature and hands
// the body to h.
func (a *App) signed(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.o.MaxBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read request", http.StatusBadRequest)
			return
		}
		if err := Verify(a.o.SigningSecret, r.Header, body, a.now()); err != nil {
			a.log.Warn("slack: refused a request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			http.Error(w, "invalid signature", http.StatusUnauthorized)
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
