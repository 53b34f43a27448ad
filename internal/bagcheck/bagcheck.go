// Package bagcheck validates a BagIt 1.0 bag (RFC 8493) in a store,
// independently of the code that writes record packages: it shares nothing
// with filing's writer but the Store interface it reads through. It applies
// the checks of the Library of Congress validator (bagit-python): the
// declaration, complete and correct payload and tag manifests, no payload
// file missing from the manifest, and a Payload-Oxum that matches.
//
// Like those validators it sees each object as it reads now. A forgery that
// rewrites a file and both manifests (new versions over a locked record)
// is a valid bag to it; telling the record as filed from what was written
// over it is the job of records.Verifier, which reads first versions.
package bagcheck

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/recordbot/recordbot/filing"
)

// Bag is what a valid bag holds.
type Bag struct {
	// Info holds bag-info.txt's fields (repeated labels keep every value).
	Info map[string][]string
	// Payload maps each payload path ("data/...") to its SHA-256.
	Payload map[string]string
	// Tags maps each tag file listed in the tag manifest to its SHA-256.
	Tags map[string]string
	// Objects is every object of the bag, by path inside it.
	Objects map[string]int64
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Check validates the bag whose root is prefix (ending in "/") in st. It
// returns every problem found, joined.
func Check(ctx context.Context, st filing.Store, prefix string) (*Bag, error) {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	b := &Bag{Info: map[string][]string{}, Payload: map[string]string{}, Tags: map[string]string{}, Objects: map[string]int64{}}
	for info, err := range st.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		b.Objects[strings.TrimPrefix(info.Key, prefix)] = info.Size
	}
	if len(b.Objects) == 0 {
		return nil, fmt.Errorf("no bag at %s", prefix)
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	read := func(name string) ([]byte, bool) {
		rc, _, err := st.Open(ctx, prefix+name)
		if err != nil {
			bad("%s: %v", name, err)
			return nil, false
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			bad("%s: %v", name, err)
			return nil, false
		}
		return data, true
	}
	sum := func(name string) (string, int64, error) {
		rc, _, err := st.Open(ctx, prefix+name)
		if err != nil {
			return "", 0, err
		}
		defer rc.Close()
		h := sha256.New()
		n, err := io.Copy(h, rc)
		return hex.EncodeToString(h.Sum(nil)), n, err
	}

	// The declaration, exactly as RFC 8493 section 2.1.1 gives it.
	if decl, ok := read("bagit.txt"); ok {
		if s := strings.ReplaceAll(string(decl), "\r\n", "\n"); s != "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n" {
			bad("bagit.txt: not a BagIt 1.0 declaration: %q", s)
		}
	}
	// Payload manifest: every payload file listed once, with the right sum.
	if _, ok := b.Objects["manifest-sha256.txt"]; !ok {
		bad("manifest-sha256.txt: missing")
	} else if data, ok := read("manifest-sha256.txt"); ok {
		parseManifest("manifest-sha256.txt", data, b.Payload, bad)
	}
	var octets int64
	for p, want := range b.Payload {
		if !strings.HasPrefix(p, "data/") {
			bad("manifest-sha256.txt: %s is outside data/", p)
			continue
		}
		got, n, err := sum(p)
		if err != nil {
			bad("%s: listed in the manifest but %v", p, err)
			continue
		}
		octets += n
		if got != want {
			bad("%s: SHA-256 %s, manifest says %s", p, got, want)
		}
	}
	for p := range b.Objects {
		if strings.HasPrefix(p, "data/") && b.Payload[p] == "" {
			bad("%s: payload file not in the manifest", p)
		}
	}
	// bag-info.txt: labels, and Payload-Oxum against what is stored.
	if data, ok := read("bag-info.txt"); ok {
		parseInfo(data, b.Info, bad)
		if ox := b.Info["Payload-Oxum"]; len(ox) != 1 {
			bad("bag-info.txt: want one Payload-Oxum, have %d", len(ox))
		} else if want := fmt.Sprintf("%d.%d", octets, len(b.Payload)); ox[0] != want {
			bad("bag-info.txt: Payload-Oxum %s, payload is %s", ox[0], want)
		}
		if d := b.Info["Bagging-Date"]; len(d) != 1 || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(d[0]) {
			bad("bag-info.txt: Bagging-Date %q is not YYYY-MM-DD", d)
		}
	}
	// Tag manifest: every tag file but itself, each with the right sum.
	if _, ok := b.Objects["tagmanifest-sha256.txt"]; !ok {
		bad("tagmanifest-sha256.txt: missing (the record was never completed)")
	} else if data, ok := read("tagmanifest-sha256.txt"); ok {
		parseManifest("tagmanifest-sha256.txt", data, b.Tags, bad)
		for p, want := range b.Tags {
			if strings.HasPrefix(p, "data/") {
				bad("tagmanifest-sha256.txt: lists payload file %s", p)
			}
			got, _, err := sum(p)
			if err != nil {
				bad("%s: listed in the tag manifest but %v", p, err)
			} else if got != want {
				bad("%s: SHA-256 %s, tag manifest says %s", p, got, want)
			}
		}
		for p := range b.Objects {
			if !strings.HasPrefix(p, "data/") && p != "tagmanifest-sha256.txt" && b.Tags[p] == "" {
				bad("%s: tag file not in the tag manifest", p)
			}
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return b, errors.Join(errs...)
	}
	return b, nil
}

func parseManifest(name string, data []byte, into map[string]string, bad func(string, ...any)) {
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		sum, path, ok := strings.Cut(line, " ")
		path = strings.TrimLeft(path, " \t")
		if !ok || path == "" || !hexRE.MatchString(sum) {
			bad("%s line %d: not \"<sha256> <path>\": %q", name, n, line)
			continue
		}
		path = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(path)
		if strings.HasPrefix(path, "/") || strings.Contains("/"+path+"/", "/../") {
			bad("%s line %d: unsafe path %q", name, n, path)
			continue
		}
		if _, dup := into[path]; dup {
			bad("%s line %d: %s listed twice", name, n, path)
		}
		into[path] = sum
	}
}

func parseInfo(data []byte, into map[string][]string, bad func(string, ...any)) {
	var last string
	for n, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				bad("bag-info.txt line %d: continuation without a label", n+1)
				continue
			}
			v := into[last]
			v[len(v)-1] += " " + strings.TrimSpace(line)
			continue
		}
		label, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(label) != label || label == "" {
			bad("bag-info.txt line %d: not \"Label: value\": %s", n+1, strconv.Quote(line))
			continue
		}
		last = label
		into[label] = append(into[label], strings.TrimSpace(value))
	}
}
