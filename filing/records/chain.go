package records

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/recordbot/recordbot/filing"
)

// Link is one audit event of a record as stored: its first version, the
// SHA-256 of its bytes (what the next event's Prev names) and its history.
type Link struct {
	Event filing.Event
	Sum   string
	// History is the event object's history: anything Later is tampering.
	History *filing.History
	// Info describes the first version as its GET did, lock included.
	Info filing.ObjectInfo
}

// maxEventBytes bounds one event read: the bot writes a few hundred bytes;
// a store writer could write gigabytes.
const maxEventBytes = 1 << 20

// readLink reads the first version of the event object h.
func readLink(ctx context.Context, st filing.Store, h *filing.History) (Link, error) {
	data, info, err := readCapped(ctx, st, h, maxEventBytes)
	if err != nil {
		return Link{}, err
	}
	l := Link{Sum: filing.Sum(data), History: h, Info: info}
	if err := json.Unmarshal(data, &l.Event); err != nil {
		return Link{}, fmt.Errorf("read %s: %w", h.Key, err)
	}
	return l, nil
}

// Chain returns every audit event of record id filed at filed, each as
// written (its first version), in chain order: oldest first by time, an
// event after the one its Prev names. Events are stored by day, so only
// the days from the filing day on are listed; only events whose key names
// the record (or names none, written before keys named records) are read.
func Chain(ctx context.Context, st filing.Store, id string, filed time.Time) ([]Link, error) {
	from := filing.AuditPrefix + filed.UTC().Format("2006/01/02")
	var hs []*filing.History
	for h, err := range filing.Histories(ctx, st, filing.AuditPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list the audit trail: %w", err)
		}
		if strings.HasSuffix(h.Key, ".json") && h.Key >= from && mayConcern(h.Key, map[string]bool{id: true}) {
			hs = append(hs, h)
		}
	}
	links := make([]Link, len(hs))
	err := forEach(ctx, len(hs), parallel, func(ctx context.Context, i int) error {
		var err error
		links[i], err = readLink(ctx, st, hs[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	out := links[:0]
	for _, l := range links {
		if l.Event.RecordID == id {
			out = append(out, l)
		}
	}
	SortChain(out)
	return out, nil
}

// SortChain puts a record's events in order: by time, the filing event
// first among equals, and an event never before the one its Prev names
// (where times tie).
func SortChain(ls []Link) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i].Event, ls[j].Event
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if (a.Type == "filed") != (b.Type == "filed") {
			return a.Type == "filed"
		}
		return b.Prev == ls[i].Sum
	})
}

// Head returns the Sum of the latest event of a chain in order (SortChain):
// what the next event's Prev names; "" for none.
func Head(ls []Link) string {
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1].Sum
}

// appendEvent writes e, an event of record e.RecordID filed at filed, as
// the next link of the record's chain: Prev names the latest event stored,
// and signer (nil for none) signs it.
func appendEvent(ctx context.Context, st filing.Store, signer *filing.Signer, e filing.Event, filed, lockUntil time.Time) (filing.Event, error) {
	if e.Prev == "" && e.RecordID != "" {
		links, err := Chain(ctx, st, e.RecordID, filed)
		if err != nil {
			return e, fmt.Errorf("read the audit trail before adding to it: %w", err)
		}
		e.Prev = Head(links)
	}
	return filing.WriteEvent(ctx, st, signer, e, lockUntil)
}
