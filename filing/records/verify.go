package records

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

// The kinds of problem a fixity check reports.
const (
	// Missing: an object a manifest lists (or the filing's audit event,
	// or the index entry, or the record folder an index entry names) is
	// not in the store.
	Missing = "missing"
	// Altered: an object's SHA-256 differs from the one its manifest
	// holds, or the tag manifest's from the one in the filing event.
	Altered = "altered"
	// Extra: an object in the record's folder that no manifest lists.
	Extra = "extra"
	// Malformed: a manifest line that cannot be read.
	Malformed = "malformed"
	// Tampered: something was written over an object that is written
	// once (a record object, the index entry, the filing event): a newer
	// version or a delete marker on top of the version filed. The first
	// version is the record, and the other checks read it; only a store
	// that keeps versions (S3 with Object Lock) can show this.
	Tampered = "tampered"
	// Forged: evidence that decides a record's fate (its filing event,
	// index entry, a later audit event, a review decision, a residual
	// entry) that no trusted key signed: made with the store's keys, not
	// by recordbot.
	Forged = "forged"
	// OutOfOrder: an audit event names as the event before it one written
	// after it.
	OutOfOrder = "out-of-order"
	// Backdated: record.json was stored (as the store's own write time
	// says) more than a day from when it says it was filed, or from its
	// id's time: a record made up later and dated back.
	Backdated = "backdated"
)

// Problem is one thing wrong with a record.
type Problem struct {
	Kind string `json:"kind"`
	// Path is the object's path inside the package, or a store key for
	// objects outside it (the audit event, the index entry).
	Path   string `json:"path"`
	Detail string `json:"detail,omitempty"`
	// Later are the versions and delete markers written over the object
	// since filing, for a Tampered problem.
	Later []filing.Version `json:"later_versions,omitempty"`
}

func (p Problem) String() string {
	s := p.Kind + " " + p.Path
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Result is the outcome of checking one record.
type Result struct {
	// ID is the record's id; "" for objects under records/ that belong to
	// no record anyone can name (a folder without record.json).
	ID        string    `json:"id"`
	Title     string    `json:"title,omitempty"`
	ClassCode string    `json:"class_code,omitempty"`
	FiledAt   time.Time `json:"filed_at,omitzero"`
	Where     string    `json:"where,omitempty"`
	// Objects and Bytes say how much was read.
	Objects  int       `json:"objects"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems,omitempty"`
	// Notes say what the check could not establish, without failing the
	// record: an anchor without Object Lock retention, for one.
	Notes []string `json:"notes,omitempty"`
	// Event is where the fixity-check event was written ("" when the
	// record is unknown, so there was nothing to record it against).
	Event string `json:"event,omitempty"`
}

// OK reports whether the record passed.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Progress is reported after each record checked.
type Progress struct {
	Done, Total int
	Bytes       int64
	Failed      int
}

// Verifier checks records' fixity and that nothing was written over them.
//
// It trusts only what the bot wrote once, Object Lock keeps and a trusted
// key signed: the first version of each record object, of the record's
// index entry and of its audit events (the filing event holds the tag
// manifest's SHA-256). It re-reads the first version of every object of a
// record, checks each SHA-256 against the bag's manifests as filed and the
// tag manifest against the filing event, reports any later version or
// delete marker on any of them, and any retention shortened below the
// record's, as tampering; checks the signatures of the index entry, of
// every event, review decision and residual entry, and the chain of the
// record's events (each names the one before it); compares when
// record.json was stored with when it says it was filed; and adds a signed
// fixity-check event to the end of each record's chain. VerifyAll walks
// records/ itself, so a record whose index entry is missing or hidden is
// checked and reported too.
//
// On a store that keeps no versions (the local directory, a bucket without
// versioning) the first version is simply the object as it is now: see
// Limitation.
type Verifier struct {
	Store filing.Store
	// By is who runs the check, for the audit trail.
	By capture.Person
	// Parallel is how many objects are read at once (default 16).
	Parallel int
	// Progress, if set, is called after each record (never concurrently).
	Progress func(Progress)
	// Clock gives the time of the fixity-check events; the system's when
	// nil.
	Clock filing.Clock
	// Signer signs the fixity-check events; nil writes none (an unsigned
	// event would later look forged).
	Signer *filing.Signer
	// Keys are the public keys whose signatures are trusted; nil checks
	// no signature (and says so in each result's notes).
	Keys *filing.Keyring
	// SignedSince is when the deployment began signing every record: a
	// record whose filing event is unsigned but was stored after it was
	// not filed by this deployment (on S3 the store sets that time, so a
	// writer cannot backdate it). Zero takes every unsigned record as
	// filed before signing.
	SignedSince time.Time
}

// Limitation says what verify cannot detect on st, for people; "" when the
// store keeps every version under Object Lock.
func Limitation(ctx context.Context, st filing.Store) (string, error) {
	versions, err := filing.KeepsVersions(ctx, st)
	if err != nil {
		return "", err
	}
	if !versions {
		return "this store keeps no versions of its objects, so verify sees each object only as it is now: " +
			"it finds objects altered, removed or added without their manifests, tag manifest and filing event being " +
			"rewritten to match, and records without an index entry; it cannot tell a forgery that rewrote all of them " +
			"from the record as filed. Use an S3 bucket with Object Lock for tamper evidence.", nil
	}
	if lk, ok := st.(filing.Locker); ok {
		locking, err := lk.Locking(ctx)
		if err != nil {
			return "", err
		}
		if !locking {
			return "this bucket keeps versions but has no Object Lock: verify reports anything written over a record, " +
				"but anyone allowed s3:DeleteObjectVersion can remove a record's versions outright.", nil
		}
	}
	return "", nil
}

// pkg is one record package to check: found under records/, or named by
// an index entry.
type pkg struct {
	folder string
	// objects are the package's objects by path inside it; nil when
	// nothing is stored in the folder an index entry names.
	objects map[string]*filing.History
	// entry is what verify keeps of the index entry as filed; nil if none.
	entry *entryRef
	// id is the record id when known before reading the package.
	id string
	// reviews and residual are the record's review decisions and residual
	// entry, when sidesKnown.
	reviews    []sideRef
	residual   *sideRef
	sidesKnown bool
}

// entryRef is what verify keeps of an index entry: what a result and a
// fixity-check event need. Whole entries (who filed, participants, channel)
// held for every record of a store would be most of verify --all's heap.
type entryRef struct {
	ID, Key, Title, ClassCode, DisposalDate string
	FiledAt                                 time.Time
	// later is the entry's history when something was written over it
	// (tampering); nil when it holds only the version filed.
	later *filing.History
	// taken is set once a package has been checked with this entry.
	taken bool
	// sig is what checking the entry's signature said: nil when a
	// trusted key signed it.
	sig error
	// retain and held are the first version's Object Lock, when
	// lockKnown.
	retain          time.Time
	held, lockKnown bool
}

// refOf keeps what verify needs of index entry e, whose history is h and
// whose first version's GET (or HEAD) described it as info.
func (v *Verifier) refOf(e filing.IndexEntry, h *filing.History, info filing.ObjectInfo) entryRef {
	r := entryRef{ID: e.ID, Key: e.Key, Title: e.Title, ClassCode: e.ClassCode, DisposalDate: e.DisposalDate, FiledAt: e.FiledAt,
		retain: info.RetainUntil, held: info.LegalHold, lockKnown: true}
	if v.Keys != nil {
		r.sig = checkSig(v.Keys, filing.KindIndex, &e, &e.Signature)
	}
	if len(h.Later) > 0 {
		r.later = h
	}
	return r
}

// Verify checks the records with the given ids, in that order. A record
// without an index entry is found by walking records/; an unknown id gives
// a failed result. The error is for a check that could not be carried out
// (the store unreachable), not for a failed record.
func (v *Verifier) Verify(ctx context.Context, ids []string) ([]Result, error) {
	st := v.Store
	results := make([]Result, len(ids))
	rn, err := v.start(ctx, len(ids), chainSource{st}, func(i int, r Result) error { results[i] = r; return nil })
	if err != nil {
		return nil, err
	}
	// Records are looked up several at once (each is a few round trips),
	// and checked as soon as each is found.
	err = forEach(rn.ctx, len(ids), parallel, func(ctx context.Context, i int) error {
		id := ids[i]
		e, h, err := locate(ctx, st, id)
		switch {
		case errors.Is(err, ErrNoRecord):
			rn.done(i, Result{ID: id, Problems: []Problem{{Kind: Missing, Path: filing.IndexPrefix + id + ".json", Detail: "no record with this id in the index or under " + filing.RecordsPrefix}}})
			return nil
		case err != nil:
			return err
		}
		p := &pkg{folder: e.Key, id: e.ID, sidesKnown: true}
		if h != nil {
			var info filing.ObjectInfo
			if rn.locking {
				if info, err = h.Stat(ctx, st); err != nil && !errors.Is(err, filing.ErrNotExist) {
					return err
				}
			}
			ref := v.refOf(e, h, info)
			ref.lockKnown = rn.locking && err == nil
			p.entry = &ref
		}
		if p.reviews, p.residual, err = v.sidesOf(ctx, e.ID); err != nil {
			return err
		}
		for h, err := range filing.Histories(ctx, st, e.Key) {
			if err != nil {
				return err
			}
			if p.objects == nil {
				p.objects = make(map[string]*filing.History)
			}
			p.objects[strings.TrimPrefix(h.Key, e.Key)] = h
		}
		rn.add(i, p, false)
		return nil
	})
	// A check that failed stopped the lookups: its error is the one to give.
	if werr := rn.wait(nil); werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// VerifyAll checks every record in the store, as VerifyEach does, and
// returns the results oldest first. It holds every result: a store of many
// records is better checked with VerifyEach.
func (v *Verifier) VerifyAll(ctx context.Context) ([]Result, error) {
	var results []Result
	err := v.VerifyEach(ctx, func(r Result) error { results = append(results, r); return nil })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if a.FiledAt.IsZero() != b.FiledAt.IsZero() {
			return !a.FiledAt.IsZero()
		}
		if !a.FiledAt.Equal(b.FiledAt) {
			return a.FiledAt.Before(b.FiledAt)
		}
		return a.ID < b.ID
	})
	return results, nil
}
