package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// Links makes and checks the state of a person's authorisation link: the
// OAuth "state" that comes back to recordbot's callback with the
// platform's answer. A state binds the link to the organisation
// (workspace, tenant) and the person it was made for, expires, and names
// a nonce that can be used once, across processes: base64url(JSON) "."
// base64url(HMAC-SHA256). Slack's DM grants and Teams' file consent use
// it.
type Links struct {
	// Key is the HMAC key of the states; a different one per use.
	Key []byte
	// Store keeps a marker per used state, under Prefix, named
	// "<expiry unix time>-<nonce>".
	Store  filing.Store
	Prefix string
	// TTL is how long a link works.
	TTL   time.Duration
	Clock filing.Clock
}

// LinkState is what a link's state says.
type LinkState struct {
	// Org is the workspace or tenant, Person the person in it.
	Org     string `json:"t"`
	Person  string `json:"u"`
	Expires int64  `json:"e"`
	Nonce   string `json:"n"`
}

// ErrLinkUsed is a state presented a second time.
var ErrLinkUsed = errors.New("this link was already used")

func (l *Links) mac(payload string) string {
	m := hmac.New(sha256.New, l.Key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Derive returns a secret of this link's own for purpose (such as a PKCE
// code verifier), made from the state's nonce and the key: nothing needs
// to be kept to find it again at the callback.
func (l *Links) Derive(st LinkState, purpose string) string {
	return l.mac(purpose + "\x00" + st.Org + "\x00" + st.Person + "\x00" + st.Nonce)
}

// New returns a state for person in org.
func (l *Links) New(org, person string) (string, LinkState) {
	b := make([]byte, 16)
	rand.Read(b)
	st := LinkState{Org: org, Person: person, Expires: filing.ClockOr(l.Clock).Now().Add(l.TTL).Unix(), Nonce: base64.RawURLEncoding.EncodeToString(b)}
	raw, _ := json.Marshal(st)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + l.mac(payload), st
}

// Check reads a state: made with this key, well formed, not expired. It
// does not mark it used (Use does). Its errors are Unusable, with words a
// person may read.
func (l *Links) Check(state string) (LinkState, error) {
	payload, mac, ok := strings.Cut(state, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(l.mac(payload))) {
		return LinkState{}, Unusable("this link was not made by this recordbot", nil)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	var st LinkState
	if err != nil || json.Unmarshal(raw, &st) != nil || st.Nonce == "" || st.Org == "" || st.Person == "" {
		return LinkState{}, Unusable("this link is malformed", nil)
	}
	if filing.ClockOr(l.Clock).Now().After(time.Unix(st.Expires, 0)) {
		return LinkState{}, Unusable("this link has expired", nil)
	}
	return st, nil
}

// Use marks a state used, with an exclusive create: a second use, by
// this process or another, fails with ErrLinkUsed. Markers of states that
// have expired (which are refused for that alone) are then deleted, a
// few at a time.
func (l *Links) Use(ctx context.Context, st LinkState) error {
	now := filing.ClockOr(l.Clock).Now()
	data := []byte(now.UTC().Format(time.RFC3339) + "\n")
	_, err := l.Store.Create(ctx, l.Prefix+strconv.FormatInt(st.Expires, 10)+"-"+st.Nonce, bytes.NewReader(data), int64(len(data)),
		filing.WriteOptions{ContentType: "text/plain"})
	if errors.Is(err, filing.ErrExist) {
		return ErrLinkUsed
	}
	if err != nil {
		return err
	}
	n := 0
	for o, err := range l.Store.List(ctx, l.Prefix) {
		if err != nil || n >= 20 {
			break
		}
		exp, _, _ := strings.Cut(strings.TrimPrefix(o.Key, l.Prefix), "-")
		sec, err := strconv.ParseInt(exp, 10, 64)
		if err == nil && !now.After(time.Unix(sec, 0).Add(time.Minute)) {
			break // listed in key order: the rest expire later
		}
		l.Store.Delete(ctx, o.Key)
		n++
	}
	return nil
}

// oauthCodeRE is an OAuth error code as RFC 6749 spells them (4.1.2.1:
// "access_denied", "invalid_scope"...).
var oauthCodeRE = regexp.MustCompile(`^[a-z_]{1,40}$`)

// OAuthCode is the "error" an OAuth callback's address carries, fit to
// log or show: anyone can make a link to a callback with any text in it,
// so anything that is not an error code reads "unknown".
func OAuthCode(s string) string {
	if oauthCodeRE.MatchString(s) {
		return s
	}
	return "unknown"
}

// Page writes a small HTML page: what a person sees in their browser at
// the end of an authorisation. title and text are escaped.
func Page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
