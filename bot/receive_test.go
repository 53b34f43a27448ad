package bot_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

func receiver(t *testing.T) *bot.Uploads {
	t.Helper()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &bot.Uploads{Store: store, TempDir: t.TempDir()}
}

func sent(by string) bot.Sent {
	return bot.Sent{Name: "WhatsApp Chat - Roads.txt", Team: "T1", By: capture.Person{ID: by}, At: time.Now(), Via: "test",
		Location: time.UTC, LocationBasis: "test zone", DateOrderBasis: "chosen"}
}

// An export is read, kept and summed up; its dates fitting both orders
// make it Ambiguous, to be chosen by its sender; anyone else sending it
// again keeps their own, to file themselves.
func TestReceive(t *testing.T) {
	ctx := context.Background()
	k := receiver(t)
	text := "05/06/2023, 10:00 - Alice: Morning\n05/06/2023, 10:01 - Bob: <Media omitted>\n"
	rec, err := k.Receive(ctx, strings.NewReader(text), int64(len(text)), sent("U1"))
	if err != nil {
		t.Fatalf("Receive() = %v", err)
	}
	if rec.Messages != 2 || rec.Media != 0 || rec.Omitted != 1 || !rec.Ambiguous || rec.TimeZone != "UTC" {
		t.Errorf("Receive() = %+v, want 2 messages, 1 omitted medium, ambiguous, in UTC", rec)
	}
	want := "WhatsApp chat " + rec.ChatName + ": 2 messages, 0 media files (1 more not in the export). Times are read as UTC (test zone)."
	if got := rec.Summary(bot.Plain{}); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	// The same export sent by someone else is theirs to file: kept for
	// them, as they sent it, beside the first sender's.
	rec2, err := k.Receive(ctx, strings.NewReader(text), int64(len(text)), sent("U2"))
	if err != nil || rec2.SuppliedBy.ID != "U2" || rec2.Messages != 2 {
		t.Fatalf("Receive() of the same export by another person = %+v, %v; want it kept for them", rec2, err)
	}
	if rec2.ID() == rec.ID() {
		t.Errorf("two senders' exports kept as one: %q", rec.ID())
	}
	if first, err := k.Get(ctx, rec.ID()); err != nil || first.SuppliedBy.ID != "U1" {
		t.Errorf("Get(the first sender's) after the second sent it = %+v, %v; want the first sender's", first, err)
	}
}

// A file that is not an export is refused with the reason for the
// person; what goes to the log names nothing from the file.
func TestReceiveRefusesWithoutLoggingTheFile(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("../Minister-secret-plan.txt")
	w.Write([]byte("05/06/2023, 10:00 - Alice: Morning\n"))
	zw.Close()
	k := receiver(t)
	_, err := k.Receive(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), sent("U1"))
	re, ok := errors.AsType[*bot.ReceiveError](err)
	if !ok || !strings.HasPrefix(re.Tell, "I cannot file this file: ") {
		t.Fatalf("Receive() = %v, want a ReceiveError telling why it cannot be filed", err)
	}
	if !strings.Contains(re.Tell, "Minister-secret-plan") {
		t.Errorf("the person is told %q, want the entry named", re.Tell)
	}
	if strings.Contains(err.Error(), "Minister") {
		t.Errorf("the log would read %q, which names the file's content", err.Error())
	}
	if _, err := k.Get(context.Background(), "x"); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("Get() = %v after a refused file", err)
	}
}

// The answer to an export says how many of its lines were not
// understood, and when it holds as many messages as WhatsApp puts in an
// export at most, that the chat may be longer.
func TestReceiveTellsLinesNotUnderstoodAndCut(t *testing.T) {
	ctx := context.Background()
	k := receiver(t)
	text := "13/06/2023, 10:00 - Alice: Morning\n13/06/2023, 25:01 - Bob: unreadable\nstill Bob's\n13/06/2023, 10:05 - Carol:\n"
	rec, err := k.Receive(ctx, strings.NewReader(text), int64(len(text)), sent("U1"))
	if err != nil {
		t.Fatalf("Receive() = %v", err)
	}
	want := "WhatsApp chat " + rec.ChatName + ": 2 messages, 0 media files. 2 lines of the chat were not understood: they are part of no message, and the record lists them. Times are read as UTC (test zone)."
	if rec.NotUnderstood != 2 || rec.Messages != 2 || rec.Summary(bot.Plain{}) != want {
		t.Errorf("Receive() = %+v, Summary() = %q; want 2 messages, 2 lines not understood, %q", rec, rec.Summary(bot.Plain{}), want)
	}

	var b strings.Builder
	start := time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
	for i := range 40_000 {
		fmt.Fprintf(&b, "%s - Alice: message %d\n", start.Add(time.Duration(i)*time.Minute).Format("02/01/2006, 15:04"), i)
	}
	rec, err = k.Receive(ctx, strings.NewReader(b.String()), int64(b.Len()), sent("U1"))
	if err != nil {
		t.Fatalf("Receive() = %v", err)
	}
	if got := rec.Summary(bot.Plain{}); rec.MayBeCut != 40_000 || !strings.Contains(got, "It holds about 40,000 messages, where WhatsApp stops an export without saying so: the chat may be longer than this export.") {
		t.Errorf("Summary() = %q, want it to say the export may be cut short", got)
	}
}

// An export whose date order is still to be chosen, filed before with
// one order: choosing the other makes a record that corrects it, the same
// one does not; a reading that differs already corrects whatever is
// chosen.
func TestUploadRelatedByChosenOrder(t *testing.T) {
	u := bot.Upload{Ambiguous: true, SameAs: "r1", SameDateOrder: whatsapp.MDY.String()}
	for _, tc := range []struct {
		order, corrects string
		want            string
	}{
		{"", "", ""},
		{"mdy", "", ""},
		{"dmy", "", "r1"},
		{"mdy", "r0", "r0"},
	} {
		u.DateOrder, u.Corrects = whatsapp.DateOrder(tc.order), tc.corrects
		got := ""
		if r := u.Related(""); len(r) == 1 && r[0].Relation == filing.Corrects {
			got = r[0].ID
		} else if len(r) > 0 {
			t.Errorf("Related(%q) = %+v", tc.order, r)
		}
		if got != tc.want {
			t.Errorf("Related(chosen %q, corrects %q) = %q, want %q", tc.order, tc.corrects, got, tc.want)
		}
	}
}

// An export read as a record filed before was: filed under that record's
// class it relates to nothing (its request is the same one, KeyUnder);
// under another class it corrects that record, whatever the date order.
func TestUploadRelatedByChosenClass(t *testing.T) {
	for _, tc := range []struct {
		u     bot.Upload
		class string
		want  string
	}{
		{bot.Upload{SameAs: "r1", SameClass: "100-20"}, "100-20", ""},
		{bot.Upload{SameAs: "r1", SameClass: "100-20"}, " 100-20 ", ""},
		{bot.Upload{SameAs: "r1", SameClass: "100-20"}, "200-20-01", "r1"},
		{bot.Upload{SameAs: "r1", SameClass: "100-20"}, "", ""},
		{bot.Upload{SameAs: "r1", SameClass: "100-20", Corrects: "r0"}, "200-20-01", "r0"},
		{bot.Upload{Ambiguous: true, DateOrder: whatsapp.MDY, SameAs: "r1", SameDateOrder: whatsapp.MDY.String(), SameClass: "100-20"}, "200-20-01", "r1"},
		// Kept before the class was: nothing to compare with.
		{bot.Upload{Ambiguous: true, DateOrder: whatsapp.MDY, SameAs: "r1", SameDateOrder: whatsapp.MDY.String()}, "200-20-01", ""},
	} {
		got := ""
		if r := tc.u.Related(tc.class); len(r) == 1 && r[0].Relation == filing.Corrects {
			got = r[0].ID
		} else if len(r) > 0 {
			t.Errorf("Related(%q) = %+v", tc.class, r)
		}
		if got != tc.want {
			t.Errorf("%+v.Related(%q) = %q, want %q", tc.u, tc.class, got, tc.want)
		}
	}
}
