package teams_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recordbot/recordbot/bot/teams"
)

// The facts of the Teams app manifest schema v1.17 that recordbot's
// manifest depends on, from "App manifest schema"
// (https://learn.microsoft.com/en-us/microsoftteams/platform/resources/schema/manifest-schema)
// and the schema it publishes
// (https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json),
// written down here rather than the schema file vendored.
var (
	guid      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	semver    = regexp.MustCompile(`^([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)$`)
	hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	httpsURL  = regexp.MustCompile(`^[Hh][Tt][Tt][Pp][Ss]://`)
	// required are the top-level properties the schema requires.
	required = []string{"manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor"}
	// limits are maximum lengths, by JSON path.
	limits = map[string]int{
		"version": 256, "developer.name": 32, "developer.websiteUrl": 2048, "developer.privacyUrl": 2048, "developer.termsOfUseUrl": 2048,
		"name.short": 30, "name.full": 100, "description.short": 80, "description.full": 4000,
		"icons.color": 2048, "icons.outline": 2048, "webApplicationInfo.resource": 2048,
	}
	botScopes        = []string{"team", "personal", "groupChat", "copilot"}
	commandTypes     = []string{"query", "action"}
	commandContexts  = []string{"compose", "commandBox", "message"}
	rscTypes         = []string{"Application", "Delegated"}
	appPermissions   = []string{"identity", "messageTeamMembers"}
	maxCommands      = 10
	maxComposeExts   = 1
	maxCommandID     = 64
	maxCommandTitle  = 32
	maxCommandDesc   = 128
	maxRSCName       = 128
	maxValidDomains  = 16
	colourIconSize   = 192
	outlineIconSize  = 32
	manifestPublicID = "0b7f8a2c-1d3e-4f50-8a6b-7c9d0e1f2a3b"
)

func TestManifestPackage(t *testing.T) {
	var zb bytes.Buffer
	if err := teams.Package(&zb, teams.ManifestOptions{AppID: manifestPublicID, PublicURL: "https://records.example.org", Developer: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb.Bytes()), int64(zb.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "color.png,manifest.json,outline.png" {
		t.Fatalf("package holds %v, want manifest.json and the two icons at its root", names)
	}
	var m map[string]any
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	checkManifest(t, m)

	for name, size := range map[string]int{"color.png": colourIconSize, "outline.png": outlineIconSize} {
		img, err := png.Decode(bytes.NewReader(files[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Errorf("%s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), size, size)
		}
		if name != "outline.png" {
			continue
		}
		white, clear := 0, 0
		for y := range size {
			for x := range size {
				r, g, b, a := img.At(x, y).RGBA()
				switch {
				case a == 0:
					clear++
				case r == 0xffff && g == 0xffff && b == 0xffff && a == 0xffff:
					white++
				default:
					t.Fatalf("outline icon pixel %d,%d is neither white nor transparent", x, y)
				}
			}
		}
		if white == 0 || clear == 0 {
			t.Errorf("outline icon has %d white and %d transparent pixels; want both", white, clear)
		}
	}
}

// checkManifest checks m against the schema's facts and recordbot's needs.
func checkManifest(t *testing.T, m map[string]any) {
	t.Helper()
	for _, k := range required {
		if _, ok := m[k]; !ok {
			t.Errorf("manifest lacks required %s", k)
		}
	}
	get := func(path string) any {
		var v any = m
		for _, p := range strings.Split(path, ".") {
			o, _ := v.(map[string]any)
			v = o[p]
		}
		return v
	}
	str := func(path string) string { s, _ := get(path).(string); return s }
	for path, max := range limits {
		if s := str(path); s == "" || utf8.RuneCountInString(s) > max {
			t.Errorf("%s = %q: required, at most %d characters", path, s, max)
		}
	}
	if str("manifestVersion") != "1.17" || !strings.Contains(str("$schema"), "/v1.17/") {
		t.Errorf("manifestVersion %q, $schema %q", str("manifestVersion"), str("$schema"))
	}
	if !semver.MatchString(str("version")) {
		t.Errorf("version %q is not semantic", str("version"))
	}
	if !guid.MatchString(str("id")) || !guid.MatchString(str("webApplicationInfo.id")) || str("webApplicationInfo.id") != manifestPublicID {
		t.Errorf("id %q / webApplicationInfo.id %q: want the app id, a GUID", str("id"), str("webApplicationInfo.id"))
	}
	if !hexColour.MatchString(str("accentColor")) {
		t.Errorf("accentColor %q", str("accentColor"))
	}
	for _, p := range []string{"developer.websiteUrl", "developer.privacyUrl", "developer.termsOfUseUrl"} {
		if !httpsURL.MatchString(str(p)) {
			t.Errorf("%s %q is not https", p, str(p))
		}
	}
	for _, p := range get("permissions").([]any) {
		if !slices.Contains(appPermissions, p.(string)) {
			t.Errorf("permission %v not in the schema's enum", p)
		}
	}
	if d := get("validDomains").([]any); len(d) == 0 || len(d) > maxValidDomains || d[0] != "records.example.org" {
		t.Errorf("validDomains %v", d)
	}

	bots := get("bots").([]any)
	if len(bots) != 1 {
		t.Fatalf("%d bots, want 1", len(bots))
	}
	b := bots[0].(map[string]any)
	var scopes []string
	for _, s := range b["scopes"].([]any) {
		if !slices.Contains(botScopes, s.(string)) {
			t.Errorf("bot scope %v not in the schema's enum", s)
		}
		scopes = append(scopes, s.(string))
	}
	slices.Sort(scopes)
	if strings.Join(scopes, ",") != "groupChat,personal,team" || b["botId"] != manifestPublicID {
		t.Errorf("bot %v: want the app id in personal, team and groupChat scope", b)
	}
	// A WhatsApp export is sent to the bot as a file in its personal chat.
	if b["supportsFiles"] != true {
		t.Errorf("bot supportsFiles = %v, want true", b["supportsFiles"])
	}

	exts := get("composeExtensions").([]any)
	if len(exts) == 0 || len(exts) > maxComposeExts {
		t.Fatalf("%d composeExtensions, want 1", len(exts))
	}
	ext := exts[0].(map[string]any)
	cmds := ext["commands"].([]any)
	if ext["botId"] != manifestPublicID || len(cmds) == 0 || len(cmds) > maxCommands {
		t.Fatalf("composeExtension %v", ext)
	}
	c := cmds[0].(map[string]any)
	id, title, desc := c["id"].(string), c["title"].(string), c["description"].(string)
	if id != teams.CommandID || len(id) > maxCommandID || title == "" || utf8.RuneCountInString(title) > maxCommandTitle || utf8.RuneCountInString(desc) > maxCommandDesc {
		t.Errorf("command %v", c)
	}
	if !slices.Contains(commandTypes, c["type"].(string)) || c["type"] != "action" || c["fetchTask"] != true {
		t.Errorf("command type %v fetchTask %v: want an action with fetchTask", c["type"], c["fetchTask"])
	}
	ctx := c["context"].([]any)
	if len(ctx) != 1 || ctx[0] != "message" || !slices.Contains(commandContexts, ctx[0].(string)) {
		t.Errorf("command context %v, want [message]", ctx)
	}

	rsc := get("authorization.permissions.resourceSpecific").([]any)
	var names []string
	for _, p := range rsc {
		p := p.(map[string]any)
		name, typ := p["name"].(string), p["type"].(string)
		if name == "" || len(name) > maxRSCName || !slices.Contains(rscTypes, typ) || typ != "Application" {
			t.Errorf("resourceSpecific %v", p)
		}
		if strings.HasSuffix(name, ".All") {
			t.Errorf("permission %s is organisation-wide", name)
		}
		names = append(names, name)
	}
	for _, want := range []string{"ChannelMessage.Read.Group", "ChatMessage.Read.Chat", "TeamMember.Read.Group", "ChatMember.Read.Chat",
		"ChannelMember.Read.Group", "ChannelSettings.Read.Group", "ChatSettings.Read.Chat"} {
		if !slices.Contains(names, want) {
			t.Errorf("resource-specific permissions %v lack %s", names, want)
		}
	}
}

func TestManifestRefusesBadSettings(t *testing.T) {
	for _, o := range []teams.ManifestOptions{
		{AppID: manifestPublicID, PublicURL: "http://records.example.org"},
		{AppID: "not-a-guid", PublicURL: "https://records.example.org"},
		{AppID: manifestPublicID, PublicURL: "https://records.example.org", Developer: strings.Repeat("x", 33)},
		{AppID: manifestPublicID, PublicURL: "https://records.example.org", PrivacyURL: "http://x.example"},
	} {
		if _, err := teams.Manifest(o); err == nil {
			t.Errorf("Manifest(%+v) accepted", o)
		}
	}
}
