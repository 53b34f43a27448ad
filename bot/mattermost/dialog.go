package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
)

// dialog builds the filing form.
func (a *App) dialog(st state, title string) model.Dialog {
	plan := a.o.Filer.Plan()
	leaves := plan.Leaves()
	class := model.DialogElement{
		DisplayName: "Class", Name: "class", Type: "select",
		Placeholder: "Type to search the file plan",
		HelpText:    "The file plan class sets how long the record is kept.",
	}
	if len(leaves) > a.o.DynamicOver {
		class.DataSource = "dynamic"
		class.DataSourceURL = a.o.PublicURL + LookupPath
	} else {
		for _, c := range leaves {
			class.Options = append(class.Options, &model.PostActionOptions{Text: bot.ClassLabel(c), Value: c.Code})
		}
	}
	marking := model.DialogElement{DisplayName: "Security marking", Name: "marking", Type: "select", Default: bot.ClassDefault,
		Options: []*model.PostActionOptions{{Text: bot.ClassDefaultLabel, Value: bot.ClassDefault}}}
	for _, m := range plan.Markings {
		marking.Options = append(marking.Options, &model.PostActionOptions{Text: m, Value: m})
	}
	st.Title = ""
	return model.Dialog{
		CallbackId:       "file-record",
		Title:            "File as record",
		IntroductionText: "The whole thread is filed, with its files, as it is now. A filed record cannot be changed.",
		SubmitLabel:      "File",
		State:            a.seal(st),
		Elements: []model.DialogElement{
			{DisplayName: "Title", Name: "title", Type: "text", Default: title, MaxLength: bot.TitleMax,
				HelpText: "What the record is about, as someone searching later would put it."},
			class,
			marking,
			{DisplayName: "Description", Name: "description", Type: "textarea", Optional: true, MaxLength: bot.DescriptionMax,
				HelpText: "Optional: context, decisions, related references."},
		},
	}
}

func (a *App) openDialog(ctx context.Context, sess *session, triggerID string, st state, title string, up *bot.Upload) error {
	if triggerID == "" {
		return errors.New("no trigger id")
	}
	d := a.dialog(st, title)
	if up != nil {
		exportDialog(&d, *up)
	}
	_, err := sess.api.OpenInteractiveDialog(ctx, model.OpenDialogRequest{
		TriggerId: triggerID, URL: a.o.PublicURL + DialogPath, Dialog: d,
	})
	return err
}

// writeJSON writes v as the whole response, its length set, and flushes
// it: the response has gone out when it returns, whatever the handler
// does next.
func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// handleDialog takes the dialog submission: it decodes it and opens its
// sealed state, files it (fileDialog) and answers the dialog; the person
// is told the request is being filed only once that answer has gone out,
// so Mattermost's dialog never waits for the direct message.
func (a *App) handleDialog(w http.ResponseWriter, r *http.Request) {
	var req model.SubmitDialogRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<10)).Decode(&req); err != nil {
		http.Error(w, "bad dialog submission", http.StatusBadRequest)
		return
	}
	if req.Cancelled {
		w.WriteHeader(http.StatusOK)
		return
	}
	st, err := a.open(req.State, req.UserId)
	if err != nil {
		writeJSON(w, model.SubmitDialogResponse{Error: stateText(err)})
		return
	}
	values := make(map[string]string, len(req.Submission))
	for k, v := range req.Submission {
		if v != nil {
			values[k] = strings.TrimSpace(fmt.Sprint(v))
		}
	}
	resp, tell := a.fileDialog(r.Context(), st, values)
	writeJSON(w, resp)
	if tell == "" {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		ctx, cancel := context.WithTimeout(ctx, tellTimeout)
		defer cancel()
		if err := a.tell(ctx, st.Reply, tell, nil); err != nil {
			a.log.Error("mattermost: the person was not told their request is being filed", "user", st.User, "err", err)
		}
	}()
}

// tellTimeout bounds telling the person, after a response has gone out.
const tellTimeout = 30 * time.Second

// fileDialog files a dialog's decoded values through the one submit step
// (bot.Submitter), keyed by the form's nonce (so a repeated submission
// finds the first): it returns the dialog's answer (inline field errors,
// or a message for the whole form) and what to tell the person once that
// answer has gone out.
func (a *App) fileDialog(ctx context.Context, st state, values map[string]string) (model.SubmitDialogResponse, string) {
	key := a.formKey(st)
	if st.Ref.Platform == capture.WhatsApp {
		if a.o.Exports == nil {
			return model.SubmitDialogResponse{Error: "recordbot no longer takes WhatsApp exports here."}, ""
		}
		up, fe, msg := a.checkExport(ctx, st, values["date_order"])
		if msg != "" || fe != nil {
			return model.SubmitDialogResponse{Error: msg, Errors: fe}, ""
		}
		// One key per export, sender and reading (bot.Intake.Key).
		key = a.intake().Key(up)
	}
	rb, _ := json.Marshal(st.Reply)
	ans := a.submitter.Submit(ctx, a.voice(), bot.Submission{
		Form: bot.Form{Title: values["title"], Class: values["class"], Marking: values["marking"], Description: values["description"]},
		Origin: bot.Origin{
			By: capture.Person{ID: st.User, DisplayName: st.UserName}, Thread: st.Ref,
			Via: st.Via, Key: key, Reply: rb,
		},
	})
	if !ans.Accepted() {
		return model.SubmitDialogResponse{Error: ans.Error, Errors: ans.Fields}, ""
	}
	return model.SubmitDialogResponse{}, ans.Tell
}

// formKey is the idempotency key of a dialog: the platform, the server,
// the team and the form's nonce (for a reaction, derived from the
// reaction), so a replayed or double-clicked form, or one submitted again
// after the store answered late, makes one request.
func (a *App) formKey(st state) string {
	return "mattermost:" + a.server + ":" + st.Reply.TeamID + ":" + st.Nonce
}

// handleLookup answers the dynamic class select as the person types.
func (a *App) handleLookup(w http.ResponseWriter, r *http.Request) {
	var req model.SubmitDialogRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad lookup", http.StatusBadRequest)
		return
	}
	if _, err := a.open(req.State, req.UserId); err != nil {
		http.Error(w, stateText(err), http.StatusForbidden)
		return
	}
	q, _ := req.Submission["query"].(string)
	items := []model.DialogSelectOption{}
	for _, c := range a.o.Filer.Plan().Search(q, 50) {
		items = append(items, model.DialogSelectOption{Text: bot.ClassLabel(c), Value: c.Code})
	}
	writeJSON(w, model.LookupDialogResponse{Items: items})
}

// handleAction takes a press of the "File as record…" button and opens
// the dialog.
func (a *App) handleAction(w http.ResponseWriter, r *http.Request) {
	var req model.PostActionIntegrationRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "bad action", http.StatusBadRequest)
		return
	}
	sealed, _ := req.Context["state"].(string)
	st, err := a.open(sealed, req.UserId)
	if err != nil {
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: stateText(err)})
		return
	}
	_, sess, err := a.installation(r.Context(), false)
	if err != nil {
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "recordbot is not installed here any more."})
		return
	}
	var up *bot.Upload
	if st.Ref.Platform == capture.WhatsApp {
		if a.o.Exports == nil {
			writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "recordbot no longer takes WhatsApp exports here."})
			return
		}
		u, err := a.o.Exports.Get(r.Context(), st.Ref.ThreadID)
		if errors.Is(err, capture.ErrNotFound) {
			writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "I no longer have this export. Please send it again."})
			return
		}
		if err != nil {
			a.log.Error("mattermost: could not read a kept export", "err", err, "user", req.UserId)
			writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "The filing form could not be opened; press the button again."})
			return
		}
		up = &u
	}
	if err := a.openDialog(r.Context(), sess, req.TriggerId, st, st.Title, up); err != nil {
		a.log.Error("mattermost: open dialog from button", "err", err, "user", req.UserId)
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: "The filing form could not be opened; press the button again."})
		return
	}
	a.log.Info("mattermost: filing dialog opened", "user", req.UserId, "thread", st.Ref.String(), "via", "button")
	writeJSON(w, model.PostActionIntegrationResponse{})
}
