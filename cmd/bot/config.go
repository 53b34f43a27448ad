package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // RECORDS_TIMEZONE in a container without zoneinfo
	"unicode"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
	"github.com/recordbot/recordbot/filing/s3"
)

// Config is the whole configuration, filled from the environment and then
// flags, and validated once by load.
type Config struct {
	// S3 is used when S3_ENDPOINT or S3_BUCKET is set; otherwise records
	// go to RecordsDir. Its LockMode is RECORD_LOCK_MODE.
	S3         s3.Config
	RecordsDir string
	// FilePlan is the path of the file plan YAML; the sample when empty.
	FilePlan   string
	ListenAddr string
	// PublicURL is where chat platforms reach this bot (install links,
	// Mattermost slash commands).
	PublicURL string
	// SecretKey seals installation tokens (RECORDBOT_SECRET_KEY), and the
	// deployment's signing key is derived from it.
	SecretKey string
	// TrustedKeys are the public keys (RECORDBOT_TRUSTED_KEYS) whose
	// signatures verify and disposal trust besides the one derived from
	// SecretKey: keys used before a rotation, or the deployment's own for
	// a checker who does not hold the secret.
	TrustedKeys []string
	// SignedSince is when this deployment began signing every record
	// (RECORDBOT_SIGNED_SINCE): an unsigned record stored after it is
	// reported as forged by verify and dispose.
	SignedSince  time.Time
	Organisation string
	// FontsDir is where the PDF transcripts' fonts for other scripts are
	// (RECORDBOT_FONTS_DIR; /usr/share/fonts when empty).
	FontsDir string
	// TimeZone is the organisation's time zone (RECORDS_TIMEZONE, an IANA
	// name such as Europe/London), shown beside UTC in transcripts; nil
	// for UTC only.
	TimeZone *time.Location
	Workers  int
	LogLevel slog.Level
	// WhatsAppKeepDays is how many days a WhatsApp export sent to the bot
	// is kept while it is not filed (WHATSAPP_KEEP_DAYS, default 7).
	WhatsAppKeepDays int

	Slack      SlackConfig
	Mattermost MattermostConfig
	Teams      TeamsConfig
}

// useS3 reports whether an S3 store is configured.
func (c *Config) useS3() bool { return c.S3.Endpoint != "" || c.S3.Bucket != "" }

// fromEnv fills c from the environment; flags defined by addFlags
// override it when the command line is parsed.
func (c *Config) fromEnv(getenv func(string) string) error {
	c.S3 = s3.Config{
		Endpoint:  getenv("S3_ENDPOINT"),
		Bucket:    getenv("S3_BUCKET"),
		AccessKey: getenv("S3_ACCESS_KEY"),
		SecretKey: getenv("S3_SECRET_KEY"),
		Region:    getenv("S3_REGION"),
		Prefix:    getenv("S3_PREFIX"),
		PathStyle: getenv("S3_PATH_STYLE"),
	}
	var errs []error
	boolEnv := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			}
			*dst = b
		}
	}
	boolEnv("S3_INSECURE", &c.S3.Insecure)
	boolEnv("S3_USE_IAM", &c.S3.UseIAM)
	c.RecordsDir = envOr(getenv, "RECORDS_DIR", "./records")
	c.FilePlan = getenv("FILE_PLAN")
	c.ListenAddr = envOr(getenv, "LISTEN_ADDR", ":8080")
	c.PublicURL = strings.TrimRight(getenv("PUBLIC_URL"), "/")
	c.SecretKey = getenv("RECORDBOT_SECRET_KEY")
	c.SignedSince = signingRelease
	if v := getenv("RECORDBOT_SIGNED_SINCE"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("RECORDBOT_SIGNED_SINCE=%q: want a date, YYYY-MM-DD", v))
		}
		c.SignedSince = t
	}
	c.TrustedKeys = strings.FieldsFunc(getenv("RECORDBOT_TRUSTED_KEYS"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	c.S3.LockMode = strings.ToUpper(envOr(getenv, "RECORD_LOCK_MODE", "GOVERNANCE"))
	c.Organisation = getenv("RECORDS_ORGANISATION")
	c.FontsDir = getenv("RECORDBOT_FONTS_DIR")
	filing.SetFontsDir(c.FontsDir)
	c.TimeZone = nil
	if v := getenv("RECORDS_TIMEZONE"); v != "" {
		tz, err := time.LoadLocation(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("RECORDS_TIMEZONE=%q: want an IANA time zone such as Europe/London", v))
		}
		c.TimeZone = tz
	}
	c.Workers = 2
	if v := getenv("FILING_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			errs = append(errs, fmt.Errorf("FILING_WORKERS=%q: want a number from 1 to 64", v))
		} else {
			c.Workers = n
		}
	}
	c.WhatsAppKeepDays = 7
	if v := getenv("WHATSAPP_KEEP_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			errs = append(errs, fmt.Errorf("WHATSAPP_KEEP_DAYS=%q: want a number of days from 1 to 365", v))
		} else {
			c.WhatsAppKeepDays = n
		}
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	if err := c.Slack.load(getenv); err != nil {
		errs = append(errs, err)
	}
	if err := c.Mattermost.load(getenv); err != nil {
		errs = append(errs, err)
	}
	if err := c.Teams.load(getenv); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// addFlags defines the flags shared by every command that opens the store.
func (c *Config) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.RecordsDir, "records-dir", c.RecordsDir, "local record store `dir`ectory, used when no S3 is configured (RECORDS_DIR)")
	fs.StringVar(&c.FilePlan, "file-plan", c.FilePlan, "file plan YAML `file` (FILE_PLAN; default: the sample plan)")
	fs.StringVar(&c.S3.Endpoint, "s3-endpoint", c.S3.Endpoint, "S3 endpoint `host:port` (S3_ENDPOINT)")
	fs.StringVar(&c.S3.Bucket, "s3-bucket", c.S3.Bucket, "S3 `bucket` (S3_BUCKET)")
	fs.StringVar(&c.S3.Prefix, "s3-prefix", c.S3.Prefix, "key `prefix` inside the bucket (S3_PREFIX)")
}

// validate checks the configuration once, after env and flags.
func (c *Config) validate() error {
	var errs []error
	if c.useS3() {
		s3c := c.S3
		s3c.LockMode = "" // checked below, under its variable's name
		if err := s3c.Validate(); err != nil {
			errs = append(errs, s3Setting(err))
		}
	} else if c.RecordsDir == "" {
		errs = append(errs, errors.New("RECORDS_DIR is empty and no S3 is configured"))
	}
	switch c.S3.LockMode {
	case "GOVERNANCE", "COMPLIANCE":
	default:
		errs = append(errs, fmt.Errorf("RECORD_LOCK_MODE=%q: want GOVERNANCE or COMPLIANCE", c.S3.LockMode))
	}
	return errors.Join(errs...)
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// parse reads the environment and the flags of one command and validates.
func (m *Main) parse(fs *flag.FlagSet, args []string) error {
	if err := m.Config.fromEnv(m.Getenv); err != nil {
		return err
	}
	m.Config.addFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if err := m.Config.validate(); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: m.Config.LogLevel}))
	}
	return nil
}

// parseFlags parses args into fs. Help asked for (-h, --help) is printed
// on standard output and returns flag.ErrHelp, which exits 0; a bad flag
// or value gives a one-line error naming the command's --help, not the
// whole usage.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(m.Stdout)
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
	}
	fs.SetOutput(m.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("%w (see %s --help)", err, fs.Name())
	}
	return err
}

// open opens the configured store and file plan.
func (m *Main) open(ctx context.Context) (filing.Store, *filing.Plan, error) {
	plan := filing.SamplePlan()
	if m.Config.FilePlan != "" {
		p, err := filing.LoadPlan(m.Config.FilePlan)
		if err != nil {
			return nil, nil, err
		}
		plan = p
	}
	if m.Config.useS3() {
		st, err := s3.Open(ctx, m.Config.S3)
		if err != nil {
			return nil, nil, s3Setting(err)
		}
		return st, plan, nil
	}
	st, err := local.New(m.Config.RecordsDir)
	if err != nil {
		return nil, nil, err
	}
	return st, plan, nil
}
