package bot_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
)

// intake is a DM intake on a local store, its clock fake.
func intake(t *testing.T) (*bot.Intake, *clockwork.FakeClock) {
	t.Helper()
	fc := clockwork.NewFakeClockAt(time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC))
	k := receiver(t)
	k.Clock = fc
	return &bot.Intake{Uploads: k, Platform: "Chat", Via: "chat whatsapp upload", SetZone: "in your Chat profile",
		ChooseHow: "choose below.", ThreadHow: "To file a thread, use /record.", Markup: bot.Plain{}}, fc
}

// dm is text sent by U1 of team T1, whose profile's time zone is zone.
func dm(text, zone string) bot.DM {
	return bot.DM{Name: "WhatsApp Chat with Alice.txt", Size: int64(len(text)), Team: "T1", By: capture.Person{ID: "U1"}, Zone: zone,
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }}
}

// tell is what err tells the person; "" when it is no *ReceiveError.
func tell(err error) string {
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		return re.Tell
	}
	return ""
}

// An export is taken in the zone of its sender's profile, else the
// organisation's, and sent when the clock says; its offer says so and has
// the buttons that file it: one, or one for each order of day and month
// while they are to be chosen.
func TestIntakeTake(t *testing.T) {
	ctx := context.Background()
	in, fc := intake(t)
	o, err := in.Take(ctx, dm("13/06/2023, 10:00 - Alice: Morning\n", "Europe/Zagreb"))
	if err != nil {
		t.Fatal(err)
	}
	if o.TimeZone != "Europe/Zagreb" || o.TimeZoneBasis != "the Chat profile time zone of the person who sent the export" || !o.SuppliedAt.Equal(fc.Now()) {
		t.Errorf("Got(upload) = %+v, want the profile's zone, sent at %v", o.Upload, fc.Now())
	}
	if !strings.Contains(o.Text, "Times are read as Europe/Zagreb") || o.Choose {
		t.Errorf("Got(offer) = %q, choose %v", o.Text, o.Choose)
	}
	if c := o.Choices(); len(c) != 1 || c[0].Value != o.ID() || c[0].Order != "" {
		t.Errorf("Choices() = %+v, want one, the kept export's id", c)
	}

	in.Zone = time.UTC
	o, err = in.Take(ctx, dm("05/06/2023, 10:00 - Alice: Morning\n", "Local"))
	if err != nil {
		t.Fatal(err)
	}
	if o.TimeZone != "UTC" || !strings.Contains(o.TimeZoneBasis, "the organisation's time zone") {
		t.Errorf("Got(zone) = %s (%s), want the organisation's", o.TimeZone, o.TimeZoneBasis)
	}
	if !o.Choose || !strings.HasSuffix(o.Text, "(is 05/06 the 5th of June or May the 6th?): choose below.") {
		t.Errorf("Got(offer) = %q, choose %v; want the date order to choose", o.Text, o.Choose)
	}
	c := o.Choices()
	if len(c) != 2 || c[0].Value != o.ID()+":dmy" || c[1].Value != o.ID()+":mdy" || c[1].Order != whatsapp.MDY {
		t.Fatalf("Choices() = %+v, want day/month and month/day", c)
	}
	if id, order := bot.ChoiceOf(c[1].Value); id != o.ID() || order != "mdy" {
		t.Errorf("ChoiceOf(%q) = %q, %q", c[1].Value, id, order)
	}
}

// What cannot be taken is told, and nothing is kept: too large by the
// platform's word or the download's, no time zone, a failed download, a
// file that is not an export.
func TestIntakeRefusals(t *testing.T) {
	ctx := context.Background()
	in, _ := intake(t)
	export := "13/06/2023, 10:00 - Alice: Morning\n"
	large := dm(export, "UTC")
	large.Size = bot.MaxUpload + 1
	large.Open = func(context.Context) (io.ReadCloser, error) {
		t.Error("a file too large was downloaded")
		return nil, errors.New("no")
	}
	tooLarge := dm(export, "UTC")
	tooLarge.Open = func(context.Context) (io.ReadCloser, error) { return nil, bot.ErrTooLarge }
	failed := dm(export, "UTC")
	failed.Open = func(context.Context) (io.ReadCloser, error) { return nil, errors.New("connection reset") }
	for _, tc := range []struct {
		name string
		dm   bot.DM
		want string
	}{
		{"too large", large, "This file is too large to be a chat export I can take (1024 MB, over 1024 MB)."},
		{"too large when downloaded", tooLarge, "This file is too large to be a chat export I can take (over 1024 MB)."},
		{"no zone", dm(export, ""), "Set your time zone in your Chat profile and send the export again."},
		{"not a zone", dm(export, "Mars/Olympus"), "Set your time zone in your Chat profile and send the export again."},
		{"download failed", failed, "Sorry, I could not download the file whole. Please send it again."},
		{"not an export", dm("Dear all,\nthe minutes.\n", "UTC"), "I cannot file this file: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := in.Take(ctx, tc.dm); !strings.Contains(tell(err), tc.want) {
				t.Errorf("Take() = %v, telling %q; want %q", err, tell(err), tc.want)
			}
		})
	}
	for o, err := range in.Uploads.Store.List(ctx, bot.UploadsPrefix) {
		t.Errorf("kept %s (%v), want nothing", o.Key, err)
	}
}

// Exports are read AtOnce at a time, in every front end together: one
// that finds no slot free within bot.ExportTimeout is told the bot is
// busy, and the slot of one done is free again.
func TestIntakeBusy(t *testing.T) {
	ctx := context.Background()
	in, fc := intake(t)
	in.Uploads.AtOnce = 1
	opened, release := make(chan struct{}), make(chan struct{})
	held := dm("13/06/2023, 10:00 - Alice: Morning\n", "UTC")
	held.Open = func(ctx context.Context) (io.ReadCloser, error) {
		close(opened)
		select {
		case <-release:
			return io.NopCloser(strings.NewReader("13/06/2023, 10:00 - Alice: Morning\n")), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	first := make(chan error, 1)
	go func() { _, err := in.Take(ctx, held); first <- err }()
	<-opened
	second := make(chan error, 1)
	go func() { _, err := in.Take(ctx, dm("14/06/2023, 10:00 - Bob: Hi\n", "UTC")); second <- err }()
	// The two reads' time limits are on the clock.
	if err := fc.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		t.Fatalf("Take() with no slot free = %v before its time was up", err)
	default:
	}
	fc.Advance(bot.ExportTimeout / 2)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("Take(first) = %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("Take(second), its slot freed in time = %v", err)
	}

	// A download that holds its slot past the time limit: the one waiting
	// for the slot is told the bot is busy, the one downloading that it
	// took too long.
	opened, release = make(chan struct{}), make(chan struct{})
	held.Open = func(ctx context.Context) (io.ReadCloser, error) {
		close(opened)
		<-release
		// The download ends only once the time limit has stopped it, so
		// what the person is told does not depend on which goroutine the
		// scheduler runs first.
		<-ctx.Done()
		return io.NopCloser(strings.NewReader("13/06/2023, 10:00 - Alice: Morning\n")), nil
	}
	go func() { _, err := in.Take(ctx, held); first <- err }()
	<-opened
	go func() { _, err := in.Take(ctx, dm("15/06/2023, 10:00 - Bob: Hi\n", "UTC")); second <- err }()
	if err := fc.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	fc.Advance(bot.ExportTimeout)
	if got := tell(<-second); got != "Sorry, I am busy with other exports. Please send it again later." {
		t.Errorf("Take() with no slot free for bot.ExportTimeout told %q, want busy", got)
	}
	close(release)
	if got := tell(<-first); got != "Sorry, taking the file took too long. Please send it again later." {
		t.Errorf("Take() whose download outlived bot.ExportTimeout told %q, want too long", got)
	}
}

// Before an export is filed: it is still kept, its sender asks, and its
// date order is set, once; the request's key is one scheme for every
// platform, Slack's as it was, with the reading (zone and order) in it.
func TestIntakeClaimAndKey(t *testing.T) {
	ctx := context.Background()
	in, _ := intake(t)
	in.Platform = "Slack"
	o, err := in.Take(ctx, dm("05/06/2023, 10:00 - Alice: Morning\n", "Europe/London"))
	if err != nil {
		t.Fatal(err)
	}
	id := o.ID()
	for _, tc := range []struct{ name, id, team, user, order, want string }{
		{"not kept", strings.Repeat("ab", 32), "T1", "U1", "dmy", "I no longer have this export. Please send it again."},
		{"someone else", id, "T1", "U2", "dmy", "Only the person who sent this export can file it."},
		{"other team", id, "T2", "U1", "dmy", "Only the person who sent this export can file it."},
		{"no order", id, "T1", "U1", "", "Choose the order of day and month your phone writes."},
	} {
		if _, err := in.Claim(ctx, tc.id, tc.team, tc.user, tc.order); tell(err) != tc.want || (tc.order == "") != errors.Is(err, bot.ErrDateOrder) {
			t.Errorf("Claim(%s) = %v, telling %q; want %q", tc.name, err, tell(err), tc.want)
		}
	}
	up, err := in.Claim(ctx, id, "T1", "U1", "mdy")
	if err != nil || up.DateOrder != whatsapp.MDY || up.DateOrderBasis != "the choice of the person who sent the export in Slack" {
		t.Fatalf("Claim(mdy) = %+v, %v", up, err)
	}
	if _, err := in.Claim(ctx, id, "T1", "U1", "dmy"); !errors.Is(err, bot.ErrDateOrder) || !strings.HasPrefix(tell(err), "You chose month/day (12/31) for this export before") {
		t.Errorf("Claim(dmy after mdy) = %v, want the first choice kept", err)
	}
	// The key Slack made before (slack/whatsapp.go's exportKey), so a
	// request stored by an earlier version is found again.
	if got, want := in.Key(up), "slack:T1:whatsapp:"+up.SHA256+":U1:Europe/London:mdy"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
	same := up
	same.Name, same.ChatName, same.SuppliedAt = "again.txt", "other", up.SuppliedAt.Add(time.Hour)
	if in.Key(same) != in.Key(up) {
		t.Errorf("Key() differs for the same export, sender and reading sent again")
	}
	for name, change := range map[string]func(*bot.Upload){
		"date order": func(u *bot.Upload) { u.DateOrder = whatsapp.DMY },
		"time zone":  func(u *bot.Upload) { u.TimeZone = "America/Toronto" },
		"sender":     func(u *bot.Upload) { u.SuppliedBy.ID = "U2" },
		"team":       func(u *bot.Upload) { u.Team = "T2" },
	} {
		other := up
		change(&other)
		if in.Key(other) == in.Key(up) {
			t.Errorf("Key() is the same with another %s", name)
		}
	}
	// The class chosen in the form is added by the Submitter.
	if a, b := bot.KeyUnder(in.Key(up), "100-20"), bot.KeyUnder(in.Key(up), "200-20-01"); a == b || a != in.Key(up)+":100-20" {
		t.Errorf("KeyUnder(100-20) = %q, KeyUnder(200-20-01) = %q: want the class in each", a, b)
	}
	if got := bot.KeyUnder("", "100-20"); got != "" {
		t.Errorf("KeyUnder(no key) = %q, want none", got)
	}
	mm := *in
	mm.Platform = "Mattermost"
	if !strings.HasPrefix(mm.Key(up), "mattermost:T1:whatsapp:") {
		t.Errorf("Key(Mattermost) = %q, want the same scheme", mm.Key(up))
	}
}

// A direct message without a file gets the hint, with several files the
// refusal; one is taken.
func TestIntakeAnswer(t *testing.T) {
	in, _ := intake(t)
	if got := in.Answer(0); !strings.Contains(got, "(in the chat: Export chat, with or without media)") || !strings.HasSuffix(got, "To file a thread, use /record.") {
		t.Errorf("Answer(0) = %q", got)
	}
	if got := in.Answer(2); got != "Please send one WhatsApp export at a time: I filed none of these." {
		t.Errorf("Answer(2) = %q", got)
	}
	if got := in.Answer(1); got != "" {
		t.Errorf("Answer(1) = %q, want it taken", got)
	}
}
