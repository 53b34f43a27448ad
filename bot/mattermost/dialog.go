package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
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

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// handleDialog takes the dialog submission: checks each field (errors go
// back inline), submits the filing request keyed by the form's nonce (so
// a repeated submission finds the first) and tells the person it is being
// filed.
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
	ctx := r.Context()
	st, err := a.open(req.State, req.UserId)
	if err != nil {
		writeJSON(w, model.SubmitDialogResponse{Error: err.Error()})
		return
	}
	field := func(name string) string {
		if v, ok := req.Submission[name]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	var up bot.Upload // a kept export, as checked
	if st.Ref.Platform == capture.WhatsApp {
		if a.o.Exports == nil {
			writeJSON(w, model.SubmitDialogResponse{Error: "recordbot no longer takes WhatsApp exports here."})
			return
		}
		var fe map[string]string
		var msg string
		if up, fe, msg = a.checkExport(ctx, st, field("date_order")); msg != "" || fe != nil {
			writeJSON(w, model.SubmitDialogResponse{Error: msg, Errors: fe})
			return
		}
	}
	rb, _ := json.Marshal(st.Reply)
	plan := a.o.Filer.Plan()
	form := bot.Form{Title: field("title"), Class: field("class"), Marking: field("marking"), Description: field("description")}
	fr := form.Request(plan, bot.Origin{
		By: capture.Person{ID: st.User, DisplayName: st.UserName}, Thread: st.Ref,
		Via: st.Via, Key: a.formKey(st), Reply: rb,
	})
	if st.Ref.Platform == capture.WhatsApp {
		// One key per export, sender and reading (bot.Intake.Key); the
		// record names one filed of it before and read otherwise.
		fr.Key, fr.Related = a.intake().Key(up), up.Related()
	}
	if fe := a.o.Filer.Check(fr); fe != nil {
		writeJSON(w, model.SubmitDialogResponse{Errors: fe})
		return
	}
	sub, err := a.o.Filer.Submit(ctx, fr)
	if err != nil {
		var fe filing.FieldErrors
		if errors.As(err, &fe) {
			writeJSON(w, model.SubmitDialogResponse{Errors: fe})
			return
		}
		a.log.Error("mattermost: submit filing request", "err", err, "thread", st.Ref.String())
		writeJSON(w, model.SubmitDialogResponse{Error: bot.StoreLate})
		return
	}
	w.WriteHeader(http.StatusOK)
	a.tell(context.WithoutCancel(ctx), st.Reply, a.voice().Accepted(sub, plan), nil)
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
		http.Error(w, err.Error(), http.StatusForbidden)
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
		writeJSON(w, model.PostActionIntegrationResponse{EphemeralText: err.Error()})
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
