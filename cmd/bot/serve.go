package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/records"
	s3store "github.com/recordbot/recordbot/filing/s3"
)

// wiring is what a front end's setup function gets: the shared service,
// store and plan, the HTTP mux to add routes to, and the routers to register
// its capture source and notifier with.
type wiring struct {
	Config  *Config
	Service *filing.Service
	// Filer is what front ends submit requests to: the service, counted.
	Filer     countingFiler
	Metrics   *metrics
	Readiness *readiness
	Store     filing.Store
	Plan      *filing.Plan
	Mux       *http.ServeMux
	Sources   capture.Sources
	Notifiers *bot.Notifiers
	Logger    *slog.Logger
	// Vault seals installation secrets; nil when RECORDBOT_SECRET_KEY is
	// not set.
	Vault *bot.Vault
	// Go starts a background loop owned by serve. It must return when
	// ctx is cancelled; an error from it stops the bot.
	Go func(name string, run func(ctx context.Context) error)
	// uploads keeps the WhatsApp exports sent to the bot (exports.go).
	uploads *bot.Uploads
}

// httpLimits bound what one connection may take of the server, so slow
// or idle clients cannot hold connections open.
type httpLimits struct {
	// ReadHeader bounds reading a request's headers; Read the whole
	// request, body included.
	ReadHeader, Read time.Duration
	// Write bounds writing the response, from the end of the headers.
	Write time.Duration
	// Idle is how long a kept-alive connection may wait for its next
	// request.
	Idle time.Duration
	// MaxHeaderBytes caps the request line and headers.
	MaxHeaderBytes int
}

// defaultHTTPLimits fit what Slack and Mattermost send: small requests
// that must be answered within 3 seconds (Slack) and a few seconds more
// for the OAuth callback's code exchange. Slack's and Mattermost's headers
// are well under 32 KiB.
var defaultHTTPLimits = httpLimits{
	ReadHeader:     5 * time.Second,
	Read:           15 * time.Second,
	Write:          30 * time.Second,
	Idle:           60 * time.Second,
	MaxHeaderBytes: 32 << 10,
}

// newHTTPServer returns the bot's HTTP server for h under limits l.
func newHTTPServer(h http.Handler, l httpLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// runServe runs the bot until ctx is cancelled.
func (m *Main) runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bot serve", flag.ContinueOnError)
	addr := fs.String("listen", "", "HTTP listen `address` (LISTEN_ADDR, default :8080)")
	if err := m.parse(fs, args); err != nil {
		return err
	}
	if *addr != "" {
		m.Config.ListenAddr = *addr
	}
	store, plan, err := m.open(ctx)
	if err != nil {
		return err
	}
	log := m.Logger
	lock := m.proveLock(ctx, store)
	if _, lockable := store.(filing.LockProver); lockable && !lock.Protected {
		if !m.allowUnlocked() {
			return fmt.Errorf("%w\nrecordbot will not file records that can be altered; to run anyway (a trial), set RECORDBOT_ALLOW_UNLOCKED=true", lock.Err)
		}
		log.Warn("records are NOT protected: Object Lock is not enforced, and RECORDBOT_ALLOW_UNLOCKED=true", "err", lock.Err)
	}
	clock := filing.ClockOr(m.Clock)
	met := newMetrics(store, clock.Now)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	goRun := func(name string, run func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				log.Error("background loop failed", "loop", name, "err", err)
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}

	signer, err := m.signer()
	if err != nil {
		return usageError(err)
	}
	if signer == nil {
		log.Warn("records are NOT signed: set RECORDBOT_SECRET_KEY, or verify cannot tell these records from ones made with the bucket's keys alone")
	}
	sources := capture.Sources{}
	notifiers := &bot.Notifiers{ByPlatform: map[capture.Platform]filing.Notifier{}, Logger: log}
	// Keep each class's register current as records are filed, and the
	// team's search index when it is shared in PostgreSQL.
	// Leaving out an index entry that does not check (logged).
	trusted, err := m.trusted()
	if err != nil {
		return usageError(err)
	}
	afterFiling := records.Trust{Keys: trusted, SignedSince: m.Config.SignedSince}.RegisterUpdater(store, clock, log)
	if feeder := m.indexFeeder(ctx, store, clock, log); feeder != nil {
		defer feeder.Index.Close()
		register := afterFiling
		afterFiling = func(ctx context.Context, s filing.Summary) error {
			err := register(ctx, s)
			feeder.Poke()
			return err
		}
		goRun("search index", feeder.Run)
	}
	svc, err := filing.NewService(filing.Options{
		Store: store, Plan: plan, Source: sources, Notifier: countingNotifier{next: notifiers, m: met}, Logger: log,
		Organisation: m.Config.Organisation, TimeZone: m.Config.TimeZone, Workers: m.Config.Workers,
		AfterFiling: afterFiling,
		Signer:      signer,
		Clock:       clock,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	// /healthz: the process is alive. /readyz: it can do its work.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	ready := newReadiness(clock.Now, log)
	ready.add("store", func(ctx context.Context) error { return pingStore(ctx, store) })
	if !lock.Protected {
		ready.note("object lock", "records are NOT protected: "+strings.TrimPrefix(lock.Describe, "NOT protected: "))
	}
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /metrics", met.handler())
	w := &wiring{
		Config: &m.Config, Service: svc, Filer: countingFiler{Service: svc, m: met}, Metrics: met, Readiness: ready,
		Store: store, Plan: plan, Mux: mux, Sources: sources, Notifiers: notifiers, Logger: log, Go: goRun,
	}
	if m.Config.SecretKey != "" {
		v, err := bot.NewVault(m.Config.SecretKey)
		if err != nil {
			return err
		}
		w.Vault = v
	}
	var banner []string
	for _, setup := range []func(*wiring) (string, error){
		func(w *wiring) (string, error) { return setupSlack(w, &m.Config.Slack) },
		func(w *wiring) (string, error) { return setupMattermost(w, &m.Config.Mattermost) },
		func(w *wiring) (string, error) { return setupTeams(w, &m.Config.Teams) },
	} {
		line, err := setup(w)
		if err != nil {
			cancel(err)
			wg.Wait()
			return err
		}
		banner = append(banner, line)
	}

	ln, err := net.Listen("tcp", m.Config.ListenAddr)
	if err != nil {
		cancel(err)
		wg.Wait()
		return fmt.Errorf("listen on %s: %w", m.Config.ListenAddr, err)
	}
	srv := newHTTPServer(mux, defaultHTTPLimits)
	goRun("filing worker", svc.Run)
	goRun("http", func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			srv.Shutdown(sctx)
		}()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})

	fmt.Fprintf(m.Stdout, "recordbot listening on %s (health: http://%s/healthz, readiness: /readyz, metrics: /metrics)\n", ln.Addr(), browsable(ln.Addr()))
	fmt.Fprintf(m.Stdout, "records: %s (%s)\n", store.Where(""), lock.Describe)
	fmt.Fprintf(m.Stdout, "file plan: %s (%d classes to file in)\n", plan.Name, len(plan.Leaves()))
	for i, line := range banner {
		fmt.Fprintln(m.Stdout, line)
		if i == 0 && m.Config.Slack.BotToken != "" {
			fmt.Fprintln(m.Stdout, slackWho(ctx, &m.Config.Slack, log))
		}
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// browsable turns a listening address into one a person can paste into a
// browser on this machine: [::]:8080 becomes localhost:8080.
func browsable(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// pingStore checks that the store answers, for /readyz: its error says
// what kind of failure it is without the endpoint, bucket or directory.
func pingStore(ctx context.Context, st filing.Store) error {
	p, ok := st.(filing.Pinger)
	if !ok {
		return nil
	}
	err := p.Ping(ctx)
	if err == nil {
		return nil
	}
	re, _ := errors.AsType[*s3store.ReachError](err)
	reason := "does not answer as it should"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		reason = "did not answer in time"
	case errors.Is(err, s3store.ErrNoBucket):
		reason = "the bucket does not exist"
	case errors.Is(err, fs.ErrNotExist):
		reason = "the records directory does not exist"
	case re != nil && re.Hint != nil && slices.Contains(re.Hint.Fields, "AccessKey"):
		reason = "the credentials are refused"
	case re != nil && re.Hint != nil && slices.Contains(re.Hint.Fields, "Insecure"):
		reason = "the endpoint speaks another protocol (HTTP or HTTPS)"
	case re != nil && re.Hint != nil:
		reason = "nothing answers at the endpoint"
	}
	return &notReady{reason: reason, err: err}
}

// filer is what front ends submit to: the counting filer, or the bare
// service when a test wired a front end alone.
func (w *wiring) filer() countingFiler {
	if w.Filer.Service == nil {
		return countingFiler{Service: w.Service}
	}
	return w.Filer
}
