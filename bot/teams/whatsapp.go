package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/capture/whatsapp"
)

// A WhatsApp chat export sent to recordbot in the person's personal chat
// (dm.go) is downloaded from its download URL, with no token, only from
// SharePoint, and taken by bot.Intake. The offer is an Adaptive Card whose
// buttons (bot.Offer.Choices) open the filing dialog: an Action.Submit
// whose data has "msteams": {"type": "task/fetch"} makes Teams send the
// bot a task/fetch invoke with that data, answered with the dialog, whose
// File comes back as task/submit with the card's inputs ("Use dialogs
// with bots",
// https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/task-modules/task-modules-bots).
// The submission is bot.Intake.Claim, then bot.Submitter.

// ViaExport is how a request for an export sent in Teams says it came:
// cmd/bot routes its outcome back here (bot.Notifiers.ByVia).
const ViaExport = "teams whatsapp upload"

// DefaultFileHosts are the hosts a file sent to the bot is downloaded
// from: Teams uploads it to the sender's OneDrive for Business, in
// SharePoint Online ("Receive files in personal chat",
// https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/bots-filesv4).
// The same page says bots cannot receive files in GCC High, DoD or the
// cloud operated by 21Vianet, so their SharePoint hosts are not listed;
// GCC's SharePoint is under sharepoint.com. "*." is any name under it.
var DefaultFileHosts = []string{"*.sharepoint.com"}

// The export dialog's inputs and the key of its state in the data of the
// offer's buttons and of the dialog's File.
const (
	inDateOrder = "date_order"
	exportKey   = "recordbot_export"
)

// intake is the DM intake in Teams' words.
func (a *App) intake() *bot.Intake {
	return &bot.Intake{Uploads: a.o.Exports, Platform: "Teams", Via: ViaExport, Zone: a.o.ExportTimeZone, Markup: cardMarkdown{},
		SetZone: "on the device you use Teams on (Teams sends its time zone)",
		// The hint to words alone is personalHelp's, which says how a
		// Teams conversation is filed.
		ChooseHow: "press the button of the order your phone writes; the form shows your choice before anything is filed."}
}

// receiveExport takes an export (bot.Intake) and offers the buttons that
// file it, in a card; a file that is not an export gets the reason.
func (a *App) receiveExport(ctx context.Context, to Personal, who capture.Person, zone string, f sentFile) {
	offer, err := a.intake().Take(ctx, bot.DM{Name: f.Name, Team: to.Tenant, By: who, Zone: zone,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return a.download(ctx, f.DownloadURL) }})
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		a.sendText(ctx, to, mdEscape.Replace(re.Tell))
		return
	}
	var actions []any
	for _, c := range offer.Choices() {
		b := map[string]any{"type": "Action.Submit", "title": c.Label,
			"data": map[string]any{"msteams": map[string]string{"type": "task/fetch"}, exportKey: c.Value}}
		if c.Order == "" {
			b["style"] = "positive"
		}
		actions = append(actions, b)
	}
	card := map[string]any{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.5",
		"body": []any{map[string]any{"type": "TextBlock", "text": offer.Text, "wrap": true}}, "actions": actions}
	if err := a.o.Messenger.SendCard(ctx, to, "WhatsApp chat received: file it as a record?", card); err != nil {
		a.log.Warn("teams: could not offer to file an export", "user", to.User, "err", err)
	}
}

// ErrFileHost is the refusal of a download URL that is not https on one
// of the file hosts.
var ErrFileHost = errors.New("teams: a file's download URL is not on SharePoint")

// fileURL checks a download URL: https, no user or password, on a file
// host (a "host:port" entry, for tests, matches a port too).
func (a *App) fileURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" {
		return ErrFileHost
	}
	hosts := a.o.FileHosts
	if hosts == nil {
		hosts = DefaultFileHosts
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	for _, h := range hosts {
		h = strings.ToLower(h)
		switch {
		case strings.Contains(h, ":"):
			if strings.ToLower(u.Host) == h {
				return nil
			}
		case port != "" && port != "443":
		case strings.HasPrefix(h, "*."):
			if strings.HasSuffix(host, h[1:]) && len(host) > len(h)-1 {
				return nil
			}
		case host == h:
			return nil
		}
	}
	return ErrFileHost
}

// download starts the download of a file sent to the bot. The URL is
// pre-authenticated: no token of the bot's, nor anyone's, is sent with it
// (bots-filesv4), and it is refused unless it is on a file host, as is
// any redirect elsewhere. A Content-Length over bot.MaxUpload is refused
// before the body is read; the intake caps what it reads in any case.
func (a *App) download(ctx context.Context, raw string) (io.ReadCloser, error) {
	if err := a.fileURL(raw); err != nil {
		return nil, err
	}
	base := a.o.FileClient
	if base == nil {
		base = &http.Client{Transport: http.DefaultTransport}
	}
	hc := *base
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("teams: too many redirects downloading a file")
		}
		req.Header.Del("Authorization")
		return a.fileURL(req.URL.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, err
	}
	return bot.Downloaded(hc.Do(req))
}

// exportState is what the export dialog files: the kept export's id and
// the dialog's own nonce.
type exportState struct {
	ID    string `json:"id"`
	Nonce string `json:"n"`
}

// exportFetch answers a button of an export's offer (task/fetch): the
// filing dialog, for the person who sent the export only. Nothing of the
// export (not even its chat's name) is shown to anyone else.
func (a *App) exportFetch(ctx context.Context, act *activity) any {
	var v struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	var value string
	if json.Unmarshal(act.Value, &v) != nil || json.Unmarshal(v.Data[exportKey], &value) != nil || value == "" {
		return taskMessage("recordbot does not know that button.")
	}
	if a.o.Exports == nil {
		return taskMessage("recordbot no longer takes WhatsApp exports here.")
	}
	id, order := bot.ChoiceOf(value)
	who := act.person()
	if who.ID == "" {
		return taskMessage("Teams did not say who you are; try again.")
	}
	cctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	up, tell := a.sender(cctx, id, act.tenant(), who.ID)
	if tell != "" {
		return taskMessage(tell)
	}
	if order != string(whatsapp.DMY) && order != string(whatsapp.MDY) {
		order = string(up.DateOrder)
	}
	return a.exportTask(exportState{ID: id, Nonce: nonce()}, up, bot.Form{Title: bot.SuggestTitle(up.ChatName), Marking: bot.ClassDefault}, order, nil)
}

// sender reads the kept export id for the dialog, when user in tenant
// sent it; tell is the refusal otherwise, in bot.Intake.Claim's words
// (the dialog's submission is Claim itself).
func (a *App) sender(ctx context.Context, id, tenant, user string) (up bot.Upload, tell string) {
	up, err := a.o.Exports.Get(ctx, id)
	switch {
	case errors.Is(err, capture.ErrNotFound):
		return up, "I no longer have this export. Please send it again."
	case err != nil:
		a.log.Error("teams: could not read a kept export", "user", user, "err", err)
		return up, "The filing form could not be opened; press the button again."
	case up.SuppliedBy.ID != user || up.Team != tenant:
		a.log.Warn("teams: refused the filing form of an export someone else sent", "user", user)
		return up, "Only the person who sent this export can file it."
	}
	return up, ""
}

// exportSubmission is the export dialog's data as submitted.
type exportSubmission struct {
	Title       string          `json:"title"`
	Class       string          `json:"class"`
	Marking     string          `json:"marking"`
	Description string          `json:"description"`
	DateOrder   string          `json:"date_order"`
	State       json.RawMessage `json:"recordbot_export"`
}

// exportSubmit files a submitted export dialog (task/submit): the
// intake's check (the sender alone, the date order), then the shared
// submit step with the intake's key; the dialog says it is being filed,
// and so does the person's personal chat, where the outcome follows. A
// replayed or repeated submission finds the request stored and files
// once.
func (a *App) exportSubmit(ctx context.Context, act *activity) (any, func(context.Context)) {
	var v struct {
		Data exportSubmission `json:"data"`
	}
	var st exportState
	if json.Unmarshal(act.Value, &v) != nil || json.Unmarshal(v.Data.State, &st) != nil || st.ID == "" || st.Nonce == "" {
		return taskMessage("Sorry: the form lost track of its export. Close it and press File as record… again."), nil
	}
	if a.o.Exports == nil {
		return taskMessage("recordbot no longer takes WhatsApp exports here."), nil
	}
	who := act.person()
	if who.ID == "" {
		return taskMessage("Teams did not say who you are; try again."), nil
	}
	s := v.Data
	form := bot.Form{Title: s.Title, Class: s.Class, Marking: s.Marking, Description: s.Description}
	in := a.intake()
	cctx, cancel := context.WithTimeout(ctx, storeTimeout)
	up, err := in.Claim(cctx, st.ID, act.tenant(), who.ID, s.DateOrder)
	cancel()
	if re, ok := errors.AsType[*bot.ReceiveError](err); ok {
		if errors.Is(err, bot.ErrDateOrder) {
			return a.exportTask(st, up, form, s.DateOrder, []string{re.Tell}), nil
		}
		return taskMessage(re.Tell), nil
	}
	to := Personal{ServiceURL: act.ServiceURL, Tenant: act.tenant(), User: act.From.ID}
	reply, _ := json.Marshal(to)
	// One key per export, sender and reading (bot.Intake.Key); each
	// dialog is a form of its own, told of a request stored from an
	// earlier offer of the same export.
	ans := a.exports.Submit(ctx, a.voice(markdown{}), bot.Submission{Form: form,
		Origin: bot.Origin{By: who, Thread: capture.Ref{Platform: capture.WhatsApp, ThreadID: st.ID}, Via: ViaExport, Key: in.Key(up), Reply: reply},
		FormID: "teams:" + act.tenant() + ":export:" + st.Nonce, NewForm: true})
	switch {
	case ans.Fields != nil:
		return a.exportTask(st, up, form, s.DateOrder, fieldErrors(ans.Fields)), nil
	case ans.Error != "":
		return a.exportTask(st, up, form, s.DateOrder, []string{ans.Error}), nil
	}
	text := a.voice(bot.Plain{}).Accepted(ans.Request, a.o.Filer.Plan())
	if ans.Tell == "" {
		return taskMessage(text), nil // a copy of a form already told
	}
	return taskMessage(text), a.tell(ans.Request.ID, func(ctx context.Context) { a.sendText(ctx, to, ans.Tell) })
}

// exportTask is the export's filing dialog: the form's fields, and the
// order of day and month when every date of the export fits both
// (preselected with order), as Mattermost's dialog asks it.
func (a *App) exportTask(st exportState, up bot.Upload, f bot.Form, order string, errs []string) any {
	var body []any
	for _, e := range errs {
		body = append(body, map[string]any{"type": "TextBlock", "text": e, "wrap": true, "color": "attention"})
	}
	body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "isSubtle": true,
		"text": "The WhatsApp chat is filed with its media and the export exactly as you sent it. A filed record cannot be changed."})
	body = append(body, a.formFields(f)...)
	if up.Ambiguous {
		body = append(body, map[string]any{
			"type": "Input.ChoiceSet", "id": inDateOrder, "label": "Dates", "style": "expanded", "value": order, "isRequired": true,
			"errorMessage": "Choose the order of day and month your phone writes.",
			"choices": []any{
				map[string]any{"title": "Day/month (31/12)", "value": string(whatsapp.DMY)},
				map[string]any{"title": "Month/day (12/31)", "value": string(whatsapp.MDY)},
			},
		}, map[string]any{"type": "TextBlock", "wrap": true, "isSubtle": true,
			"text": "Every date in the export fits both orders of day and month: choose the one your phone writes."})
	}
	card := map[string]any{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.5",
		"body": body, "actions": []any{map[string]any{"type": "Action.Submit", "title": "File", "data": map[string]any{exportKey: st}}}}
	return map[string]any{"task": map[string]any{"type": "continue", "value": map[string]any{
		"title": "File the WhatsApp chat as a record", "height": "large", "width": "medium",
		"card": map[string]any{"contentType": AdaptiveCard, "content": card},
	}}}
}
