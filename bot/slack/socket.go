package slack

import (
	"context"
	"errors"
	"sync"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocket serves Slack over Socket Mode with the app-level token (no
// public URL needed) until ctx is done, with the same handlers as HTTP.
// Each request is handled in its own goroutine, which RunSocket waits for
// before it returns.
func (a *App) RunSocket(ctx context.Context, appToken string) error {
	if appToken == "" {
		return errors.New("slack socket mode: no app-level token")
	}
	api := slackapi.New(a.o.BotToken, slackapi.OptionAPIURL(a.o.APIURL), slackapi.OptionHTTPClient(a.o.HTTPClient),
		slackapi.OptionAppLevelToken(appToken))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	runErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr <- sm.RunContext(ctx)
		cancel()
	}()
	for {
		select {
		case <-ctx.Done():
			err := <-runErr
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case evt, ok := <-sm.Events:
			if !ok {
				continue
			}
			switch evt.Type {
			case socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand, socketmode.EventTypeEventsAPI:
				if evt.Request == nil {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					a.socketEvent(ctx, sm, evt)
				}()
			case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
				a.log.Warn("slack socket mode: connection trouble", "type", string(evt.Type))
			}
		}
	}
}

// socketEvent handles one Socket Mode request: the handler's answer is
// the acknowledgement, and the work after it follows in this goroutine.
func (a *App) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	var k ack
	switch d := evt.Data.(type) {
	case slackapi.InteractionCallback:
		k = a.interaction(ctx, &d)
	case slackapi.SlashCommand:
		k = a.command(ctx, &d)
	case slackevents.EventsAPIEvent:
		k = a.event(&d)
	}
	var err error
	if k.body != nil {
		err = sm.AckCtx(ctx, evt.Request.EnvelopeID, k.body)
	} else {
		err = sm.AckCtx(ctx, evt.Request.EnvelopeID, nil)
	}
	if err != nil {
		a.log.Warn("slack socket mode: could not acknowledge", "type", string(evt.Type), "err", err)
		return
	}
	if k.after != nil && k.refuse == 0 {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterTimeout)
		defer cancel()
		k.after(actx)
	}
}
