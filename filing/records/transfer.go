package records

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/local"
)

// TransferredAndDestroyed is the outcome of a record transferred and then
// destroyed at the source.
const TransferredAndDestroyed = "transferred and destroyed"

// Destination is where transferred records go: a store (another bucket, or
// a local folder as a local.Store) and a key prefix in it.
type Destination struct {
	Store  filing.Store
	Prefix string
}

// ErrInsideSource is returned for a transfer destination inside the
// record store the records would leave: a copy there is no transfer, and
// destroying the records after it could destroy the only copy.
var ErrInsideSource = errors.New("a transferred copy must lie outside the record store it leaves")

// bucketStore is a store in a bucket of an S3 service, under a key prefix
// ("" or ending in "/"): filing/s3.Store.
type bucketStore interface {
	Endpoint() string
	Bucket() string
	Prefix() string
}

// CheckDestination refuses dst, with an error matching ErrInsideSource,
// when the copies a transfer writes there would lie inside st: a local
// folder inside st's directory (CheckFolder), or a key prefix of st's
// bucket inside st's own prefix (the whole bucket when st has none),
// records/ and all.
func CheckDestination(st filing.Store, dst Destination) error {
	prefix := dst.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	switch s := st.(type) {
	case *local.Store:
		if d, ok := dst.Store.(*local.Store); ok {
			return CheckFolder(s, filepath.Join(d.Root(), filepath.FromSlash(prefix)))
		}
	case bucketStore:
		d, ok := dst.Store.(bucketStore)
		if ok && d.Endpoint() == s.Endpoint() && d.Bucket() == s.Bucket() && strings.HasPrefix(d.Prefix()+prefix, s.Prefix()) {
			return fmt.Errorf("transfer: %s is inside the record store %s: %w: transfer to another bucket", dst.Store.Where(prefix), st.Where(""), ErrInsideSource)
		}
	}
	return nil
}

// CheckFolder refuses the local folder dir (which need not exist yet) as a
// transfer destination, with an error matching ErrInsideSource, when st
// is a local store and dir is its directory or lies inside it, however
// dir is written: relative, through symlinks, or with "..".
func CheckFolder(st filing.Store, dir string) error {
	l, ok := st.(*local.Store)
	if !ok {
		return nil
	}
	inside, err := insideDir(l.Root(), dir)
	if err != nil {
		return fmt.Errorf("transfer: %s: %w", dir, err)
	}
	if inside {
		return fmt.Errorf("transfer: %s is inside the record store %s: %w: transfer to a folder outside it", dir, l.Root(), ErrInsideSource)
	}
	return nil
}

// insideDir reports whether dir is root or lies inside it. dir is made
// absolute as local.New makes it; the part of it that exists is resolved
// (symlinks), and it is inside when that part or a folder above it is
// root itself (the same file, so a bind mount or another spelling of root
// counts too). A part that does not exist yet would be made inside the
// part that does.
func insideDir(root, dir string) (bool, error) {
	rfi, err := os.Stat(root)
	if err != nil {
		return false, err
	}
	p, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			p = r
			break
		}
		up := filepath.Dir(p)
		if !errors.Is(err, fs.ErrNotExist) || up == p {
			return false, err
		}
		if _, lerr := os.Lstat(p); lerr == nil {
			return false, fmt.Errorf("%s is a symlink to nowhere", p)
		}
		p = up
	}
	for {
		if fi, err := os.Stat(p); err == nil && os.SameFile(fi, rfi) {
			return true, nil
		}
		up := filepath.Dir(p)
		if up == p {
			return false, nil
		}
		p = up
	}
}

// Transfer writes each of the records ids (every record due for transfer
// when ids is empty) as a serialised BagIt package (a tar of its package
// as filed, with its audit events as EventsFile) to dst, with a SHA-256
// file beside it. The copy is read back from dst and checked against the
// record's manifests before anything else happens (a destination inside
// st itself is refused before anything is written: CheckDestination);
// then the transfer is
// recorded in the audit trail and, with destroyAfter, the record is
// destroyed as by Destroy. A copy already at dst (from an interrupted run)
// is checked and used rather than written again. The run writes a
// certificate, unless it is a dry run.
func Transfer(ctx context.Context, st filing.Store, d Disposal, dst Destination, destroyAfter bool, ids []string) (*Report, error) {
	r, err := newRun(ctx, st, d, "transfer")
	if err != nil {
		return nil, err
	}
	if dst.Store == nil {
		return nil, errors.New("transfer: no destination")
	}
	if err := CheckDestination(st, dst); err != nil {
		return nil, err
	}
	if p := dst.Prefix; p != "" && !strings.HasSuffix(p, "/") {
		dst.Prefix += "/"
	}
	sel, err := r.selectDue(ctx, ids, filing.Transfer, nil)
	if err != nil {
		return nil, err
	}
	var evs map[string][]filing.Event
	if !d.DryRun {
		var want []string
		for _, s := range sel {
			if s.refused == "" {
				want = append(want, s.ID)
			}
		}
		if len(want) > 0 {
			if evs, err = EventsOf(ctx, st, want); err != nil {
				return nil, err
			}
		}
	}
	outs := r.each(ctx, sel, func(ctx context.Context, s selected) Outcome {
		if s.refused != "" {
			return s.outcome("transfer", Refused, s.refused)
		}
		return r.transfer(ctx, s, dst, evs[s.ID], destroyAfter)
	})
	return r.finish(ctx, outs)
}

func (r *run) transfer(ctx context.Context, s selected, dst Destination, events []filing.Event, destroyAfter bool) Outcome {
	out := s.outcome("transfer", Failed, "")
	name := strings.TrimSuffix(s.Key, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	key := dst.Prefix + name + ".tar"
	where := dst.Store.Where(key)
	out.Copy = where
	if r.d.DryRun {
		out.Outcome, out.Detail = "would transfer", "to "+where
		if destroyAfter {
			out.Detail += ", then destroy"
		}
		return out
	}
	p, err := loadPackage(ctx, r.st, s.IndexEntry, events)
	if err != nil {
		out.Detail = err.Error()
		return out
	}
	sum, err := r.writeCopy(ctx, p, dst.Store, key)
	if err != nil {
		out.Detail = fmt.Sprintf("copy to %s: %v", where, err)
		return out
	}
	if _, err := appendEvent(ctx, r.st, r.d.Signer, filing.Event{Type: "transferred", At: r.d.now(), By: r.d.By, RecordID: s.ID, Key: s.Key, ClassCode: s.ClassCode,
		Outcome: Transferred, Detail: fmt.Sprintf("to %s (SHA-256 %s), checked against the record's manifests; authority: %s; approved by: %s; certificate %s",
			where, sum, r.d.Authority, r.d.ApprovedBy, r.id)}, s.FiledAt, filing.RecordLock(r.at, "")); err != nil {
		out.Detail = fmt.Sprintf("copied to %s, but not recorded in the audit trail: %v", where, err)
		return out
	}
	out.Outcome, out.Detail = Transferred, fmt.Sprintf("to %s (SHA-256 %s)", where, sum)
	if !destroyAfter {
		return out
	}
	d := r.destroy(ctx, s, where)
	d.Copy = where
	if d.Outcome == Destroyed {
		d.Outcome = TransferredAndDestroyed
	} else {
		d.Detail = "transferred to " + where + ", not destroyed: " + d.Detail
	}
	return d
}

// writeCopy writes p as a tar at key in dst, with key+".sha256", reads it
// back and checks it; a copy already there is checked instead. It returns
// the tar's SHA-256.
func (r *run) writeCopy(ctx context.Context, p *copyPlan, dst filing.Store, key string) (string, error) {
	pr, pw := io.Pipe()
	h := sha256.New()
	go func() {
		bw := bufio.NewWriterSize(io.MultiWriter(pw, h), 1<<16)
		err := writeTars(ctx, r.st, []*copyPlan{p}, bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	_, err := dst.Create(ctx, key, pr, -1, filing.WriteOptions{ContentType: "application/x-tar"})
	pr.CloseWithError(errors.New("copy ended"))
	written := ""
	switch {
	case err == nil:
		written = hex.EncodeToString(h.Sum(nil))
	case errors.Is(err, filing.ErrExist):
		// An earlier run wrote it: check it like a new one.
	default:
		return "", err
	}
	rc, _, err := dst.Open(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read the copy back: %w", err)
	}
	got, err := checkTar(bufio.NewReaderSize(rc, 1<<16), []*copyPlan{p})
	rc.Close()
	if err != nil {
		return "", err
	}
	if written != "" && got != written {
		return "", fmt.Errorf("the copy read back has SHA-256 %s, %s was written: %w", got, written, ErrCopy)
	}
	name := key[strings.LastIndexByte(key, '/')+1:]
	line := got + "  " + name + "\n"
	if _, err := dst.Create(ctx, key+".sha256", strings.NewReader(line), int64(len(line)), filing.WriteOptions{ContentType: "text/plain; charset=utf-8"}); errors.Is(err, filing.ErrExist) {
		rc, _, err := dst.Open(ctx, key+".sha256")
		if err != nil {
			return "", err
		}
		old, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return "", err
		}
		if string(old) != line {
			return "", fmt.Errorf("%s holds %q, the copy's SHA-256 is %s: %w", key+".sha256", strings.TrimSpace(string(old)), got, ErrCopy)
		}
	} else if err != nil {
		return "", err
	}
	return got, nil
}
