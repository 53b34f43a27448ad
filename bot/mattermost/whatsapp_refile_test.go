package mattermost_test

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture/mattermost/mattermosttest"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/internal/intaketest"
)

// The same export filed again under another class (intaketest.Refile,
// the same case as Slack's) through a direct message and the dialog.
func TestWhatsAppRefiledUnderAnotherClass(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.mm.SetTimezone(e.alice, "Europe/London", "")
	e.listen(e.app, 1)
	intaketest.Refile(t, &mmDM{e: e})
}

// mmDM is intaketest.DM on the fake Mattermost, as alice.
type mmDM struct {
	e      *env
	offers int         // offers seen
	offer  *model.Post // the last one
	before map[string]bool
}

func (d *mmDM) Store() filing.Store { return d.e.store }

// seen names a message told to alice.
func seen(p *model.Post) string { return p.Id + "\x00" + p.Message }

func (d *mmDM) Send(t *testing.T, name string, data []byte) string {
	t.Helper()
	e := d.e
	e.mm.SendDM(e.alice, e.botUser(), "", mattermosttest.File{Name: name, MIME: "application/zip", Data: data})
	d.offers++
	d.offer = nil
	e.waitFor("offer", func() bool {
		n := 0
		for _, p := range e.mm.MessagesTo(e.alice.Id) {
			if strings.Contains(p.Message, "WhatsApp chat") {
				if n++; n == d.offers {
					d.offer = p
				}
			}
		}
		return d.offer != nil
	})
	return d.offer.Message
}

func (d *mmDM) File(t *testing.T, title, class string) {
	t.Helper()
	e := d.e
	if code, resp, err := e.mm.ClickButton(d.offer, "filerecord", e.alice.Id); err != nil || code != 200 || resp.EphemeralText != "" {
		t.Fatalf("ClickButton(alice) = HTTP %d, %+v, %v", code, resp, err)
	}
	d.before = make(map[string]bool)
	for _, p := range e.mm.MessagesTo(e.alice.Id) {
		d.before[seen(p)] = true
	}
	values := map[string]any{"title": title, "class": class, "marking": bot.ClassDefault}
	if resp := e.submit(e.lastDialog(), e.alice, values); resp.Error != "" || len(resp.Errors) > 0 {
		t.Fatalf("submit = %+v", resp)
	}
}

func (d *mmDM) Told(t *testing.T, any ...string) string {
	t.Helper()
	e := d.e
	var told string
	e.waitFor("a message to alice saying one of "+strings.Join(any, ", "), func() bool {
		for _, p := range e.mm.MessagesTo(e.alice.Id) {
			if d.before[seen(p)] {
				continue
			}
			for _, want := range any {
				if strings.Contains(p.Message, want) {
					told = p.Message
					return true
				}
			}
		}
		return false
	})
	return told
}
