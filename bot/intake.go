package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
)

// A person files a WhatsApp chat by sending its "Export chat" file (a zip
// or a .txt) to the bot in a direct message. The front end opens its
// download with the bot's token; the intake streams it to a temporary
// file (never held in memory, up to MaxUpload), reads it with
// capture/whatsapp a message at a time and keeps it
// (Uploads) for its sender alone, and the bot answers with a "File as
// record…" button. The button opens the filing form, and the filing
// worker reads the kept export again (whatsapp.Source). A file that is
// not an export gets the reason and nothing is kept.
//
// Intake is everything of that which does not depend on the platform:
// the time zone the export is read in, its size, how many are read at
// once, keeping it, the date order, the offer's text and buttons, what
// was filed of it before, the check before it is filed and the key of
// the request that files it. A front end keeps only how the file is
// downloaded and how its buttons and messages are drawn.

// ExportTimeout bounds downloading, reading and keeping one export.
const ExportTimeout = 15 * time.Minute

// DefaultAtOnce is how many exports are read at once (Uploads.AtOnce).
const DefaultAtOnce = 2

// ErrTooLarge is returned by a DM's Open when the platform says the file
// is larger than MaxUpload.
var ErrTooLarge = fmt.Errorf("a file over %d bytes", MaxUpload)

// errExportTimeout ends the taking of an export that took longer than
// ExportTimeout.
var errExportTimeout = fmt.Errorf("an export not taken within %v", ExportTimeout)

// ErrDateOrder marks a *ReceiveError about the order of day and month:
// the front end may show it beside the form's choice of it.
var ErrDateOrder = errors.New("the date order is not chosen as it must be")

// Intake is the direct-message intake of one front end. Its fields are
// the platform's words; the work is Take (a file sent) and Claim (its
// filing asked for).
type Intake struct {
	Uploads *Uploads
	// Platform is the platform's name as people know it ("Slack"); in
	// lower case it begins the keys of the requests the intake makes.
	Platform string
	// Via is how a request for an export sent here says it came.
	Via string
	// Zone reads an export's times when its sender's profile gives none:
	// the organisation's time zone. Nil: the person is asked to set one.
	Zone *time.Location
	// SetZone says where on the platform a person sets their time zone
	// ("in your Slack profile").
	SetZone string
	// ChooseHow ends the offer of an export whose dates fit both orders
	// of day and month: how the person chooses on this platform.
	ChooseHow string
	// Markup draws the offer's text.
	Markup Markup
	// ThreadHow ends the hint to a message without a file: how a thread
	// of the platform is filed, in its markup.
	ThreadHow string
}

// Answer is what to answer a direct message to the bot with n files: the
// hint of how to file a chat for none, a refusal for more than one, and
// "" for one, to Take.
func (in *Intake) Answer(n int) string {
	switch {
	case n == 0:
		return "To file a WhatsApp chat, export it on your phone (in the chat: " + in.Markup.Bold("Export chat") +
			", with or without media) and send me the zip or .txt here, as the phone made it. " + in.ThreadHow
	case n > 1:
		return "Please send one WhatsApp export at a time: I filed none of these."
	}
	return ""
}

// DM is a file a person sent the bot in a direct message, as the front
// end found it.
type DM struct {
	// Name is the file's name; Size its size as the platform gives it
	// before it is downloaded (0 when it gives none).
	Name string
	Size int64
	// Team is the workspace (or server) it was sent in.
	Team string
	// By is the sender with the names their profile gives, and Zone the
	// time zone name of their profile, "" when it gives none.
	By   capture.Person
	Zone string
	// Open starts the download of the file; the intake reads up to
	// MaxUpload bytes of it. It may fail with ErrTooLarge when the
	// platform says the file is larger.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Offer is an export kept and offered for filing: what the front end
// draws, with its button (or the two of a date order to choose).
type Offer struct {
	Received
	// Text says what the export holds, how it is read and what was filed
	// of it before, in the intake's Markup.
	Text string
	// Choose is set when every date of the export fits both orders of
	// day and month and its sender has not chosen one yet: Text ends
	// with ChooseHow.
	Choose bool
}

// Choice is one button that files an offered export: its value (the id
// the export is kept as, with ":dmy" or ":mdy" after it when the button
// chooses the order of day and month: ChoiceOf undoes it), the order it
// files with (none when the export's own) and its label.
type Choice struct {
	Value string
	Order whatsapp.DateOrder
	Label string
}

// Choices are the buttons that file the offered export, for a front end
// that has the date order chosen with the button: one, or one for each
// order when it is to be chosen.
func (o Offer) Choices() []Choice {
	id := o.ID()
	switch {
	case o.Choose:
		return []Choice{{id + ":dmy", whatsapp.DMY, "File as record… (day/month)"}, {id + ":mdy", whatsapp.MDY, "File as record… (month/day)"}}
	case o.DateOrder != "":
		return []Choice{{id + ":" + string(o.DateOrder), o.DateOrder, "File as record…"}}
	}
	return []Choice{{Value: id, Label: "File as record…"}}
}

// ChoiceOf is the kept export's id and the order of day and month ("" for
// none) of a Choice's value.
func ChoiceOf(value string) (id, order string) {
	id, order, _ = strings.Cut(strings.TrimSpace(value), ":")
	return id, order
}

// Take downloads, reads and keeps the export sent in dm, and returns the
// offer to file it. Any error is a *ReceiveError: its Tell is for the
// person (plain text, to escape for the platform), the rest for the log.
func (in *Intake) Take(ctx context.Context, dm DM) (Offer, error) {
	o, err := in.take(ctx, dm)
	if err == nil {
		in.Uploads.log().Info("offered filing of a WhatsApp export", "platform", in.Platform, "team", dm.Team, "user", dm.By.ID, "messages", o.Messages)
	}
	return o, in.logged(err, "a file sent to the bot was not kept", dm.Team, dm.By.ID)
}

// logged logs a *ReceiveError err (its Why and Err: never the file's
// text, nor what the person is told) and returns it.
func (in *Intake) logged(err error, what, team, user string) error {
	if re, ok := errors.AsType[*ReceiveError](err); ok {
		in.Uploads.log().Warn(what, "platform", in.Platform, "team", team, "user", user, "why", re.Why, "err", re.Err)
	}
	return err
}

func (in *Intake) take(ctx context.Context, dm DM) (Offer, error) {
	k := in.Uploads
	// Bounded by the Uploads' clock (clockwork.WithTimeout's contexts
	// block in Err until they are done, which readers of ctx.Err do not
	// expect).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer k.clock().AfterFunc(ExportTimeout, func() { cancel(errExportTimeout) }).Stop()
	release, ok := k.slot(ctx)
	if !ok {
		return Offer{}, &ReceiveError{Tell: "Sorry, I am busy with other exports. Please send it again later.", Why: "no slot to read an export in"}
	}
	defer release()
	if dm.Size > MaxUpload {
		return Offer{}, tooLarge(fmt.Sprintf("%d MB, over %d MB", dm.Size>>20, MaxUpload>>20))
	}
	loc, basis, err := in.zone(dm.Zone)
	if err != nil {
		return Offer{}, err
	}
	tmp, err := os.CreateTemp(k.TempDir, "recordbot-upload-*")
	if err != nil {
		return Offer{}, &ReceiveError{Tell: "Sorry, I could not take the file just now. Please send it again later.", Why: "no temporary file for an export", Err: err}
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	n, err := download(ctx, dm, tmp)
	var rec Received
	if err == nil {
		rec, err = k.Receive(ctx, tmp, n, Sent{Name: dm.Name, Team: dm.Team, By: dm.By, At: k.clock().Now().UTC(),
			Via: in.Via, Location: loc, LocationBasis: basis, DateOrderBasis: in.dateOrderBasis()})
	}
	switch {
	case errors.Is(context.Cause(ctx), errExportTimeout):
		return Offer{}, &ReceiveError{Tell: "Sorry, taking the file took too long. Please send it again later.", Why: "an export not taken in time", Err: err}
	case errors.Is(err, ErrTooLarge):
		return Offer{}, tooLarge(fmt.Sprintf("over %d MB", MaxUpload>>20))
	case errors.As(err, new(*ReceiveError)):
		return Offer{}, err
	case err != nil:
		return Offer{}, &ReceiveError{Tell: "Sorry, I could not download the file whole. Please send it again.", Why: "could not download an export", Err: err}
	}
	o := Offer{Received: rec, Text: rec.Summary(in.Markup)}
	switch up := rec.Upload; {
	case up.Ambiguous && up.DateOrder != "":
		o.Text += " Its dates are read as " + OrderWords(up.DateOrder) + ", as you chose."
	case up.Ambiguous:
		o.Choose = true
		o.Text += " Every date in it fits both orders of day and month (is 05/06 the 5th of June or May the 6th?): " + in.ChooseHow
	}
	return o, nil
}

// tooLarge is the refusal of a file over MaxUpload.
// Downloaded checks a platform's answer to the download of a file sent
// to the bot: 200, and no longer than MaxUpload when it says its length
// (the intake caps what it reads in any case). It returns the body to
// stream, or closes it and says why.
func Downloaded(resp *http.Response, err error) (io.ReadCloser, error) {
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	case resp.ContentLength > MaxUpload:
		err = ErrTooLarge
	}
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp.Body, nil
}

func tooLarge(how string) *ReceiveError {
	return &ReceiveError{Tell: "This file is too large to be a chat export I can take (" + how + ").", Why: "an export too large"}
}

// download copies the file of dm to w, up to MaxUpload bytes, and
// returns how many it copied.
func download(ctx context.Context, dm DM, w io.Writer) (int64, error) {
	rc, err := dm.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, MaxUpload+1))
	if err == nil && n > MaxUpload {
		err = ErrTooLarge
	}
	return n, err
}

// zone is the time zone an export's times are read in: the sender's
// profile's (name), else the organisation's (Zone), and where it comes
// from.
func (in *Intake) zone(name string) (*time.Location, string, error) {
	if name != "" && name != "Local" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, "the " + in.Platform + " profile time zone of the person who sent the export", nil
		}
	}
	if in.Zone != nil {
		return in.Zone, "the organisation's time zone, set for recordbot (the sender's " + in.Platform + " profile gave none)", nil
	}
	return nil, "", &ReceiveError{Tell: "I cannot tell which time zone your phone was in: WhatsApp exports give times without one. " +
		"Set your time zone " + in.SetZone + " and send the export again.", Why: "no time zone for an export"}
}

// dateOrderBasis is the record's word on a date order its sender chose.
func (in *Intake) dateOrderBasis() string {
	return "the choice of the person who sent the export in " + in.Platform
}

// OrderWords says a date order for a person.
func OrderWords(o whatsapp.DateOrder) string {
	if o == whatsapp.MDY {
		return "month/day (12/31)"
	}
	return "day/month (31/12)"
}

// Claim is the check before an export is filed, when its sender asks for
// the form (Slack's button) or submits it (Mattermost's dialog): it is
// still kept, it was sent by user in team, and its date order is set;
// order ("dmy" or "mdy", or "" when none was chosen) is the person's
// choice, kept for the export when it was not set yet. It returns the
// export as kept. Any error is a *ReceiveError; one about the date order
// matches ErrDateOrder.
func (in *Intake) Claim(ctx context.Context, id, team, user, order string) (Upload, error) {
	up, err := in.claim(ctx, id, team, user, order)
	return up, in.logged(err, "an export was not filed", team, user)
}

func (in *Intake) claim(ctx context.Context, id, team, user, order string) (Upload, error) {
	k := in.Uploads
	up, err := k.Get(ctx, id)
	if errors.Is(err, capture.ErrNotFound) {
		return up, &ReceiveError{Tell: "I no longer have this export. Please send it again.", Why: "an export no longer kept"}
	}
	if err != nil {
		return up, &ReceiveError{Tell: storeSlow, Why: "could not read a kept export", Err: err}
	}
	if up.SuppliedBy.ID != user || up.Team != team {
		return up, &ReceiveError{Tell: "Only the person who sent this export can file it.", Why: "refused to file an export someone else sent"}
	}
	if !up.Ambiguous {
		return up, nil
	}
	if order != string(whatsapp.DMY) && order != string(whatsapp.MDY) {
		return up, &ReceiveError{Tell: "Choose the order of day and month your phone writes.", Why: "no date order chosen", Err: ErrDateOrder}
	}
	if up.DateOrder == "" {
		if up, err = k.ChooseDateOrder(ctx, id, whatsapp.DateOrder(order), in.dateOrderBasis()); err != nil {
			return up, &ReceiveError{Tell: storeSlow, Why: "could not keep the date order of an export", Err: err}
		}
	}
	if string(up.DateOrder) != order {
		return up, &ReceiveError{Tell: "You chose " + OrderWords(up.DateOrder) + " for this export before, and it is filed so. " +
			"If that was wrong, ask your records team to import the export with bot import whatsapp --date-order.",
			Why: "another date order than the one chosen", Err: ErrDateOrder}
	}
	return up, nil
}

// storeSlow is the answer when the store of kept exports failed before
// anything was asked of the filing.
const storeSlow = "Sorry, I could not read the export just now: nothing was filed. Please try again."

// Key is the key of the request that files up (filing.Request.Key), the
// same scheme on every platform: the platform, the workspace (or server),
// the export's SHA-256, its sender and what the record reads it with (its
// time zone and date order). A front end makes it when the form opens,
// before the class is chosen: the Submitter adds the class to it
// (KeyUnder). So the same person filing the same export again under the
// same class, from another offer of it or a replayed click, makes one
// record and is told it was received already, while another reading of
// it, or the same reading under another class, is a request of its own.
// Keys made before the class was added to them (Slack's, from this
// scheme; Mattermost's, from the dialog's nonce) are not read: a copy of
// such a request would make a second record only if sent again within
// filing's repeat window of the first, and the offer then names the
// first as filed before (Received.Same).
func (in *Intake) Key(up Upload) string {
	return strings.ToLower(in.Platform) + ":" + up.Team + ":whatsapp:" + up.SHA256 + ":" + up.SuppliedBy.ID + ":" + up.TimeZone + ":" + string(up.DateOrder)
}

// KeyUnder is key (Intake.Key) for an export filed under the class code
// class, as the person chose it in the form.
func KeyUnder(key, class string) string {
	if key == "" {
		return ""
	}
	return key + ":" + strings.TrimSpace(class)
}

// slot takes one of the AtOnce slots to read an export in, waiting for
// one until ctx is done (ok false), and returns how to give it back.
func (k *Uploads) slot(ctx context.Context) (release func(), ok bool) {
	k.mu.Lock()
	if k.slots == nil {
		k.slots = make(chan struct{}, cmp.Or(k.AtOnce, DefaultAtOnce))
	}
	slots := k.slots
	k.mu.Unlock()
	select {
	case slots <- struct{}{}:
		if ctx.Err() != nil { // a slot freed as the time ran out
			<-slots
			return nil, false
		}
		return func() { <-slots }, true
	case <-ctx.Done():
		return nil, false
	}
}
