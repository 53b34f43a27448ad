package bot_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/internal/storetest"
)

// TestLinks: a link's state opens only with its key and unchanged, until
// it expires, and is used once, across Links sharing a store (another
// process).
func TestLinks(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t)
	clock := clockwork.NewFakeClock()
	l := &bot.Links{Key: []byte("key one, thirty-two bytes long.."), Store: st, Prefix: "installations/test/states/", TTL: 15 * time.Minute, Clock: clock}
	state, made := l.New("T1", "U1")
	st1, err := l.Check(state)
	if err != nil || st1 != made || l.Derive(st1, "pkce") == l.Derive(st1, "nonce") {
		t.Fatalf("Check(own state) = %+v, %v", st1, err)
	}
	other := *l
	other.Key = []byte("key two, thirty-two bytes long..")
	payload, mac, _ := strings.Cut(state, ".")
	for name, s := range map[string]string{"another key's": state, "changed": payload + "x." + mac, "empty": ""} {
		c := l
		if name == "another key's" {
			c = &other
		}
		if _, err := c.Check(s); err == nil {
			t.Errorf("Check(%s state) accepted it", name)
		}
	}
	if err := l.Use(ctx, st1); err != nil {
		t.Fatal(err)
	}
	again := *l // another process, same store
	if err := again.Use(ctx, st1); !errors.Is(err, bot.ErrLinkUsed) {
		t.Errorf("a second use = %v, want ErrLinkUsed", err)
	}
	clock.Advance(16 * time.Minute)
	if _, err := l.Check(state); err == nil || !strings.Contains(bot.Voice{Markup: bot.Plain{}}.Say(err, ""), "expired") {
		t.Errorf("Check after 16 minutes = %v, want expired", err)
	}
}

// TestPage: the page a browser ends on escapes what it says and is
// neither cached nor sent on as a referrer (it may follow a link that
// carried a code).
func TestPage(t *testing.T) {
	w := httptest.NewRecorder()
	bot.Page(w, 400, "<b>title</b>", `<script>alert(1)</script>`)
	h, body := w.Header(), w.Body.String()
	if w.Code != 400 || h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" ||
		strings.Contains(body, "<script>") || strings.Contains(body, "<b>title") {
		t.Errorf("page: %d %v %s", w.Code, h, body)
	}
}
