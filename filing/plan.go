package filing

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DisposalAction is what happens to a record when its retention ends.
type DisposalAction string

// The disposal actions a class can set.
const (
	Destroy   DisposalAction = "destroy"
	Review    DisposalAction = "review"
	Transfer  DisposalAction = "transfer"  // to the archives
	Permanent DisposalAction = "permanent" // kept for ever: no disposal date
)

// Retention says how long a class's records are kept.
type Retention struct {
	// Years, Months and Days make up the period.
	Years, Months, Days int
	// FromYearEnd counts the period from the end of the calendar year of
	// filing (31 December) instead of from the filing date.
	FromYearEnd bool
	Action      DisposalAction
}

// DisposalDate returns when a record filed at filed reaches the end of its
// retention, or the zero time for permanent records.
func (r Retention) DisposalDate(filed time.Time) time.Time {
	if r.Action == Permanent {
		return time.Time{}
	}
	filed = filed.UTC()
	start := time.Date(filed.Year(), filed.Month(), filed.Day(), 0, 0, 0, 0, time.UTC)
	if r.FromYearEnd {
		start = time.Date(filed.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
	}
	return start.AddDate(r.Years, r.Months, r.Days)
}

// Period returns the retention period in ISO 8601 form, such as "P7Y".
func (r Retention) Period() string {
	if r.Action == Permanent {
		return ""
	}
	s := "P"
	if r.Years > 0 {
		s += strconv.Itoa(r.Years) + "Y"
	}
	if r.Months > 0 {
		s += strconv.Itoa(r.Months) + "M"
	}
	if r.Days > 0 || s == "P" {
		s += strconv.Itoa(r.Days) + "D"
	}
	return s
}

// String describes the rule for people: "destroy 7 years after the end of
// the calendar year of filing".
func (r Retention) String() string {
	if r.Action == Permanent {
		return "keep permanently"
	}
	var parts []string
	plural := func(n int, unit string) {
		if n == 1 {
			parts = append(parts, "1 "+unit)
		} else if n > 1 {
			parts = append(parts, strconv.Itoa(n)+" "+unit+"s")
		}
	}
	plural(r.Years, "year")
	plural(r.Months, "month")
	plural(r.Days, "day")
	if len(parts) == 0 {
		parts = []string{"0 days"}
	}
	from := "after filing"
	if r.FromYearEnd {
		from = "after the end of the calendar year of filing"
	}
	return fmt.Sprintf("%s %s %s", r.Action, strings.Join(parts, " "), from)
}

// Class is one node of the file plan: a function, activity or transaction.
type Class struct {
	Code        string
	Title       string
	Description string
	// Retention is the class's own rule or the one it inherits; nil only
	// on classes above the first rule.
	Retention *Retention
	// Markings are the security markings allowed in the class (inherited
	// from the parent or the plan when the class sets none); Default is
	// the one preselected.
	Markings []string
	Default  string
	Parent   *Class
	Children []*Class
}

// Leaf reports whether records can be filed in c: only classes without
// children take records.
func (c *Class) Leaf() bool { return len(c.Children) == 0 }

// Path returns the classes from the top of the plan down to c.
func (c *Class) Path() []*Class {
	var p []*Class
	for x := c; x != nil; x = x.Parent {
		p = append([]*Class{x}, p...)
	}
	return p
}

// PathString returns the class path for people: "100 Administration >
// 100-20 Committees".
func (c *Class) PathString() string {
	var parts []string
	for _, x := range c.Path() {
		parts = append(parts, x.Code+" "+x.Title)
	}
	return strings.Join(parts, " > ")
}

// Allows reports whether marking may be used in c.
func (c *Class) Allows(marking string) bool {
	for _, m := range c.Markings {
		if m == marking {
			return true
		}
	}
	return false
}

// Plan is a file plan (business classification scheme).
type Plan struct {
	Name     string
	Markings []string
	Default  string
	Classes  []*Class // top level
	byCode   map[string]*Class
	ordered  []*Class // depth-first
}

// Class returns the class with the given code, or nil.
func (p *Plan) Class(code string) *Class { return p.byCode[strings.TrimSpace(code)] }

// All returns every class, depth first in plan order.
func (p *Plan) All() []*Class { return p.ordered }

// Leaves returns the classes records can be filed in, in plan order.
func (p *Plan) Leaves() []*Class {
	var out []*Class
	for _, c := range p.ordered {
		if c.Leaf() {
			out = append(out, c)
		}
	}
	return out
}

// Search returns up to limit leaf classes matching query, for type-ahead
// pickers: every word of the query must appear in the class's code, title
// or the titles above it, case-insensitively. Codes starting with the query
// come first. An empty query returns the first leaves.
func (p *Plan) Search(query string, limit int) []*Class {
	words := strings.Fields(strings.ToLower(query))
	type hit struct {
		c    *Class
		rank int
	}
	var hits []hit
	for i, c := range p.ordered {
		if !c.Leaf() {
			continue
		}
		hay := strings.ToLower(c.PathString() + " " + c.Description)
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		rank := i
		if len(words) > 0 && strings.HasPrefix(strings.ToLower(c.Code), words[0]) {
			rank -= len(p.ordered)
		}
		hits = append(hits, hit{c, rank})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].rank < hits[j].rank })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]*Class, len(hits))
	for i, h := range hits {
		out[i] = h.c
	}
	return out
}

//go:embed sampleplan.yml
var samplePlan []byte

// SamplePlan returns the file plan that ships with recordbot.
func SamplePlan() *Plan {
	p, err := ParsePlan(bytes.NewReader(samplePlan))
	if err != nil {
		panic("filing: bad embedded sample plan: " + err.Error())
	}
	return p
}

// SamplePlanYAML returns the YAML source of the sample plan.
func SamplePlanYAML() []byte { return bytes.Clone(samplePlan) }

// LoadPlan reads a file plan from a YAML file.
func LoadPlan(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load file plan: %w", err)
	}
	defer f.Close()
	p, err := ParsePlan(f)
	if err != nil {
		return nil, fmt.Errorf("file plan %s: %w", path, err)
	}
	return p, nil
}

type yamlPlan struct {
	Name           string      `yaml:"name"`
	Markings       []string    `yaml:"markings"`
	DefaultMarking string      `yaml:"default_marking"`
	Classes        []yamlClass `yaml:"classes"`
}

type yamlClass struct {
	Code           string         `yaml:"code"`
	Title          string         `yaml:"title"`
	Description    string         `yaml:"description"`
	Retention      *yamlRetention `yaml:"retention"`
	Markings       []string       `yaml:"markings"`
	DefaultMarking string         `yaml:"default_marking"`
	Children       []yamlClass    `yaml:"children"`
}

type yamlRetention struct {
	Period string `yaml:"period"`
	From   string `yaml:"from"`
	Action string `yaml:"action"`
}

// codeRE is what a class code may look like: "100-20", "FIN/PRO/03", "A.1".
var codeRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,38}[A-Za-z0-9])?$`)

// ParsePlan reads a file plan in YAML. Errors name the class and the problem.
func ParsePlan(r io.Reader) (*Plan, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var y yamlPlan
	if err := dec.Decode(&y); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("file plan is empty")
		}
		return nil, planYAMLError(err)
	}
	p := &Plan{Name: strings.TrimSpace(y.Name), byCode: make(map[string]*Class)}
	var errs []error
	seenMarking := make(map[string]bool)
	for _, m := range y.Markings {
		m = strings.TrimSpace(m)
		switch {
		case m == "":
			errs = append(errs, errors.New("plan: empty security marking"))
		case seenMarking[m]:
			errs = append(errs, fmt.Errorf("plan: security marking %q listed twice", m))
		case !markingOK(m):
			errs = append(errs, fmt.Errorf("plan: security marking %q has characters other than letters, digits, spaces and -_/", m))
		}
		seenMarking[m] = true
		p.Markings = append(p.Markings, m)
	}
	if len(p.Markings) == 0 {
		errs = append(errs, errors.New("plan: no security markings listed (markings: [OFFICIAL, ...])"))
	}
	p.Default = strings.TrimSpace(y.DefaultMarking)
	if p.Default == "" && len(p.Markings) > 0 {
		p.Default = p.Markings[0]
	} else if p.Default != "" && !seenMarking[p.Default] {
		errs = append(errs, fmt.Errorf("plan: default marking %q is not in the plan's markings", p.Default))
	}
	if len(y.Classes) == 0 {
		errs = append(errs, errors.New("plan: no classes"))
	}
	segs := make(map[string]string) // key segment -> code, to catch "A/B" vs "A-B"
	var walk func(ys []yamlClass, parent *Class) []*Class
	walk = func(ys []yamlClass, parent *Class) []*Class {
		var out []*Class
		for i, yc := range ys {
			c := &Class{
				Code:        strings.TrimSpace(yc.Code),
				Title:       strings.TrimSpace(yc.Title),
				Description: strings.TrimSpace(yc.Description),
				Parent:      parent,
			}
			name := fmt.Sprintf("class %q", c.Code)
			if c.Code == "" {
				where := "at the top level"
				if parent != nil {
					where = "under class " + strconv.Quote(parent.Code)
				}
				name = fmt.Sprintf("class #%d %s", i+1, where)
				errs = append(errs, fmt.Errorf("%s: no code", name))
			} else if !codeRE.MatchString(c.Code) {
				errs = append(errs, fmt.Errorf("%s: code must be 1-40 letters, digits and . _ / - (starting and ending with a letter or digit)", name))
			} else if _, dup := p.byCode[c.Code]; dup {
				errs = append(errs, fmt.Errorf("%s: duplicate code", name))
			} else if other, clash := segs[codeSegment(c.Code)]; clash {
				errs = append(errs, fmt.Errorf("%s: code clashes with class %q once / is written as - in storage keys", name, other))
			} else {
				p.byCode[c.Code] = c
				segs[codeSegment(c.Code)] = c.Code
			}
			if c.Title == "" {
				errs = append(errs, fmt.Errorf("%s: no title", name))
			} else if utf8.RuneCountInString(c.Title) > 200 {
				errs = append(errs, fmt.Errorf("%s: title longer than 200 characters", name))
			}
			// Retention: own or inherited.
			if parent != nil {
				c.Retention = parent.Retention
			}
			if yc.Retention != nil {
				ret, err := parseRetention(*yc.Retention)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
				} else {
					c.Retention = &ret
				}
			}
			// Markings: own, or inherited from the parent or the plan.
			c.Markings, c.Default = p.Markings, p.Default
			if parent != nil {
				c.Markings, c.Default = parent.Markings, parent.Default
			}
			if len(yc.Markings) > 0 {
				c.Markings = nil
				for _, m := range yc.Markings {
					m = strings.TrimSpace(m)
					if !seenMarking[m] {
						errs = append(errs, fmt.Errorf("%s: unknown security marking %q (the plan lists %s)", name, m, strings.Join(p.Markings, ", ")))
						continue
					}
					c.Markings = append(c.Markings, m)
				}
				if len(c.Markings) > 0 && !c.Allows(c.Default) {
					c.Default = c.Markings[0]
				}
			}
			if d := strings.TrimSpace(yc.DefaultMarking); d != "" {
				if !c.Allows(d) {
					errs = append(errs, fmt.Errorf("%s: default marking %q is not among the class's markings", name, d))
				} else {
					c.Default = d
				}
			}
			p.ordered = append(p.ordered, c)
			c.Children = walk(yc.Children, c)
			if c.Leaf() && c.Retention == nil && yc.Retention == nil {
				errs = append(errs, fmt.Errorf("%s: no retention rule (set retention on it or a class above it)", name))
			}
			out = append(out, c)
		}
		return out
	}
	p.Classes = walk(y.Classes, nil)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func markingOK(m string) bool {
	for _, r := range m {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(" -_/", r)) {
			return false
		}
	}
	return len(m) <= 64
}

var periodRE = regexp.MustCompile(`^(?:(\d+)\s*y(?:ears?)?)?\s*(?:(\d+)\s*m(?:onths?)?)?\s*(?:(\d+)\s*d(?:ays?)?)?$`)
var isoPeriodRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$`)

func parseRetention(y yamlRetention) (Retention, error) {
	var r Retention
	switch a := DisposalAction(strings.ToLower(strings.TrimSpace(y.Action))); a {
	case Destroy, Review, Transfer, Permanent:
		r.Action = a
	case "":
		return r, errors.New("retention: no action (destroy, review, transfer or permanent)")
	default:
		return r, fmt.Errorf("retention: unknown action %q (destroy, review, transfer or permanent)", y.Action)
	}
	switch strings.ToLower(strings.TrimSpace(y.From)) {
	case "", "filing", "filed", "filing_date":
	case "end_of_year", "year_end", "calendar_year_end", "end_of_calendar_year":
		r.FromYearEnd = true
	default:
		return r, fmt.Errorf("retention: unknown start %q (filing or end_of_year)", y.From)
	}
	period := strings.TrimSpace(y.Period)
	if r.Action == Permanent {
		if period != "" && period != "permanent" {
			return r, fmt.Errorf("retention: permanent records take no period, got %q", period)
		}
		return r, nil
	}
	m := isoPeriodRE.FindStringSubmatch(strings.ToUpper(period))
	if m == nil {
		m = periodRE.FindStringSubmatch(strings.ToLower(period))
	}
	if period == "" || m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return r, fmt.Errorf("retention: bad period %q (write it as 7y, 18m, 90d, 1y6m or ISO 8601 P7Y)", period)
	}
	num := func(s string) (int, error) {
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n > 1000 {
			return 0, fmt.Errorf("retention: period %q is out of range", period)
		}
		return n, nil
	}
	var err error
	if r.Years, err = num(m[1]); err != nil {
		return r, err
	}
	if r.Months, err = num(m[2]); err != nil {
		return r, err
	}
	if r.Days, err = num(m[3]); err != nil {
		return r, err
	}
	if r.Years == 0 && r.Months == 0 && r.Days == 0 {
		return r, fmt.Errorf("retention: period %q is zero; use action destroy with a real period, or review", period)
	}
	return r, nil
}

// yamlWords names the file plan's YAML types for people, with the fields
// each takes, so that errors never name a Go type.
var yamlWords = map[string]string{
	"filing.yamlPlan":       "a file plan (fields: name, markings, default_marking, classes)",
	"filing.yamlClass":      "a class (fields: code, title, description, retention, markings, default_marking, children)",
	"[]filing.yamlClass":    "a list of classes (each starting \"- code: ...\")",
	"filing.yamlRetention":  "a retention rule (fields: period, from, action)",
	"*filing.yamlRetention": "a retention rule (fields: period, from, action)",
	"[]string":              "a list",
	"string":                "text",
}

// yamlKinds names YAML's node tags for people.
var yamlKinds = map[string]string{
	"str": "text", "seq": "a list", "map": "fields", "int": "a number", "float": "a number", "bool": "true or false", "null": "nothing",
}

var (
	yamlUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	yamlWrongKind    = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
	yamlGoType       = regexp.MustCompile(`\*?(\[\])?filing\.yaml[A-Za-z]+`)
)

// planYAMLError rewrites what the YAML decoder says about a file plan for
// the person who wrote it: the line, the field and what was expected,
// never a Go type.
func planYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return fmt.Errorf("file plan is not valid YAML: %s", yamlGoType.ReplaceAllStringFunc(msg, yamlWord))
	}
	var msgs []string
	for _, e := range te.Errors {
		if m := yamlUnknownField.FindStringSubmatch(e); m != nil {
			msgs = append(msgs, fmt.Sprintf("line %s: unknown field %q in %s", m[1], m[2], yamlWord(m[3])))
			continue
		}
		if m := yamlWrongKind.FindStringSubmatch(e); m != nil {
			kind := yamlKinds[m[2]]
			if kind == "" {
				kind = m[2]
			}
			msgs = append(msgs, fmt.Sprintf("line %s: expected %s, found %s %q", m[1], yamlWord(m[4]), kind, m[3]))
			continue
		}
		msgs = append(msgs, yamlGoType.ReplaceAllStringFunc(e, yamlWord))
	}
	return fmt.Errorf("file plan: %s", strings.Join(msgs, "; "))
}

// yamlWord names the Go type t of the plan's YAML for people.
func yamlWord(t string) string {
	if w, ok := yamlWords[t]; ok {
		return w
	}
	return "a value"
}
