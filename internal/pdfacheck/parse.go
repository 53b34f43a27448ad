package pdfacheck

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// A small reader of PDF files as recordbot writes them: one revision, a
// classic cross-reference table, no object streams. It reads what the
// checks need and reports anything else as an error, so an unexpected
// file fails the check rather than passing it unread.

// name is a PDF name, without its slash.
type name string

// ref is an indirect reference.
type ref struct{ num, gen int }

// dict is a PDF dictionary.
type dict map[name]any

// stream is a stream object: its dictionary and its raw (encoded) data.
type stream struct {
	dict dict
	raw  []byte
}

// file is a parsed PDF.
type file struct {
	data    []byte
	offsets map[int]int
	trailer dict
	cache   map[int]any
}

var startxrefRe = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)

func parseFile(data []byte) (*file, error) {
	m := startxrefRe.FindSubmatch(data)
	if m == nil {
		return nil, errors.New("no startxref at the end of the file")
	}
	at, _ := strconv.Atoi(string(m[1]))
	if at <= 0 || at >= len(data) || !bytes.HasPrefix(data[at:], []byte("xref")) {
		return nil, errors.New("startxref does not point at a cross-reference table (cross-reference streams are not read)")
	}
	f := &file{data: data, offsets: map[int]int{}, cache: map[int]any{}}
	p := &lexer{b: data, i: at + len("xref")}
	for {
		p.space()
		if bytes.HasPrefix(p.b[p.i:], []byte("trailer")) {
			p.i += len("trailer")
			break
		}
		first, err1 := p.integer()
		count, err2 := p.integer()
		if err1 != nil || err2 != nil || count < 0 {
			return nil, errors.New("bad cross-reference subsection")
		}
		p.space()
		for k := range count {
			if p.i+20 > len(p.b) {
				return nil, errors.New("cross-reference table cut short")
			}
			e := p.b[p.i : p.i+20]
			p.i += 20
			off, err := strconv.Atoi(string(e[:10]))
			if err != nil {
				return nil, fmt.Errorf("bad cross-reference entry %d", first+k)
			}
			if e[17] == 'n' {
				f.offsets[first+k] = off
			}
		}
	}
	t, err := p.value()
	if err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	d, ok := t.(dict)
	if !ok {
		return nil, errors.New("trailer is not a dictionary")
	}
	if _, ok := d["Prev"]; ok {
		return nil, errors.New("the file has incremental updates (/Prev): this check reads one revision only")
	}
	f.trailer = d
	return f, nil
}

// object returns indirect object num.
func (f *file) object(num int) (any, error) {
	if v, ok := f.cache[num]; ok {
		return v, nil
	}
	off, ok := f.offsets[num]
	if !ok || off <= 0 || off >= len(f.data) {
		return nil, fmt.Errorf("object %d is not in the cross-reference table", num)
	}
	p := &lexer{b: f.data, i: off, f: f}
	n, err := p.integer()
	if err != nil || n != num {
		return nil, fmt.Errorf("object %d: the cross-reference table points elsewhere", num)
	}
	if _, err := p.integer(); err != nil {
		return nil, fmt.Errorf("object %d: no generation", num)
	}
	p.space()
	if !p.keyword("obj") {
		return nil, fmt.Errorf("object %d: no obj keyword", num)
	}
	v, err := p.value()
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", num, err)
	}
	p.space()
	if d, ok := v.(dict); ok && p.keyword("stream") {
		if p.i < len(p.b) && p.b[p.i] == '\r' {
			p.i++
		}
		if p.i >= len(p.b) || p.b[p.i] != '\n' {
			return nil, fmt.Errorf("object %d: stream keyword not followed by an end of line", num)
		}
		p.i++
		l, err := f.integer(d["Length"])
		if err != nil || l < 0 || p.i+l > len(p.b) {
			return nil, fmt.Errorf("object %d: bad stream /Length", num)
		}
		raw := p.b[p.i : p.i+l]
		p.i += l
		p.space()
		if !p.keyword("endstream") {
			return nil, fmt.Errorf("object %d: /Length does not end at endstream", num)
		}
		v = &stream{dict: d, raw: raw}
	}
	p.space()
	if !p.keyword("endobj") {
		return nil, fmt.Errorf("object %d: no endobj", num)
	}
	f.cache[num] = v
	return v, nil
}

// resolve follows v if it is a reference.
func (f *file) resolve(v any) (any, error) {
	if r, ok := v.(ref); ok {
		return f.object(r.num)
	}
	return v, nil
}

func (f *file) dict(v any) dict {
	v, _ = f.resolve(v)
	switch d := v.(type) {
	case dict:
		return d
	case *stream:
		return d.dict
	}
	return nil
}

func (f *file) array(v any) []any {
	v, _ = f.resolve(v)
	a, _ := v.([]any)
	return a
}

func (f *file) integer(v any) (int, error) {
	v, err := f.resolve(v)
	if err != nil {
		return 0, err
	}
	n, ok := v.(float64)
	if !ok || n != float64(int(n)) {
		return 0, fmt.Errorf("not an integer: %v", v)
	}
	return int(n), nil
}

func (f *file) number(v any) (float64, bool) {
	v, _ = f.resolve(v)
	n, ok := v.(float64)
	return n, ok
}

func (f *file) name(v any) name {
	v, _ = f.resolve(v)
	n, _ := v.(name)
	return n
}

// decode returns the decoded data of a stream (no filter or FlateDecode).
func (f *file) decode(s *stream) ([]byte, error) {
	switch flt := s.dict["Filter"].(type) {
	case nil:
		return s.raw, nil
	case name:
		if flt != "FlateDecode" {
			return nil, fmt.Errorf("filter %s is not read by this check", flt)
		}
	case []any:
		if len(flt) != 1 || flt[0] != name("FlateDecode") {
			return nil, fmt.Errorf("filters %v are not read by this check", flt)
		}
	default:
		return nil, errors.New("bad /Filter")
	}
	zr, err := zlib.NewReader(bytes.NewReader(s.raw))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 256<<20))
}

// lexer reads PDF objects from b at i.
type lexer struct {
	b []byte
	i int
	f *file
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

func (p *lexer) space() {
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case isSpace(c):
			p.i++
		case c == '%':
			for p.i < len(p.b) && p.b[p.i] != '\n' && p.b[p.i] != '\r' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *lexer) keyword(k string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(k)) {
		e := p.i + len(k)
		if e == len(p.b) || isSpace(p.b[e]) || isDelim(p.b[e]) {
			p.i = e
			return true
		}
	}
	return false
}

func (p *lexer) token() string {
	s := p.i
	for p.i < len(p.b) && !isSpace(p.b[p.i]) && !isDelim(p.b[p.i]) {
		p.i++
	}
	return string(p.b[s:p.i])
}

func (p *lexer) integer() (int, error) {
	p.space()
	return strconv.Atoi(p.token())
}

// value reads one object; "N G R" is read as a reference.
func (p *lexer) value() (any, error) {
	p.space()
	if p.i >= len(p.b) {
		return nil, errors.New("unexpected end of file")
	}
	switch c := p.b[p.i]; {
	case c == '/':
		p.i++
		return name(p.token()), nil
	case c == '(':
		return p.literal()
	case bytes.HasPrefix(p.b[p.i:], []byte("<<")):
		p.i += 2
		d := dict{}
		for {
			p.space()
			if bytes.HasPrefix(p.b[p.i:], []byte(">>")) {
				p.i += 2
				return d, nil
			}
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			kn, ok := k.(name)
			if !ok {
				return nil, fmt.Errorf("dictionary key %v is not a name", k)
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			d[kn] = v
		}
	case c == '<':
		e := bytes.IndexByte(p.b[p.i:], '>')
		if e < 0 {
			return nil, errors.New("unterminated hex string")
		}
		h := p.b[p.i+1 : p.i+e]
		p.i += e + 1
		var out []byte
		var hi int = -1
		for _, ch := range h {
			v := bytes.IndexByte([]byte("0123456789abcdef"), ch|0x20)
			if isSpace(ch) {
				continue
			}
			if v < 0 {
				return nil, errors.New("bad hex string")
			}
			if hi < 0 {
				hi = v
			} else {
				out = append(out, byte(hi<<4|v))
				hi = -1
			}
		}
		if hi >= 0 {
			out = append(out, byte(hi<<4))
		}
		return string(out), nil
	case c == '[':
		p.i++
		var a []any
		for {
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ']' {
				p.i++
				return a, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	default:
		t := p.token()
		switch t {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		case "":
			return nil, fmt.Errorf("unexpected %q", c)
		}
		n, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected %q", t)
		}
		// An integer followed by "G R" is a reference.
		save := p.i
		if n == float64(int(n)) {
			p.space()
			g := p.token()
			p.space()
			if gen, err := strconv.Atoi(g); err == nil && p.keyword("R") {
				return ref{int(n), gen}, nil
			}
		}
		p.i = save
		return n, nil
	}
}

// literal reads a literal string, its escapes undone.
func (p *lexer) literal() (any, error) {
	p.i++
	var out []byte
	depth := 1
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(out), nil
			}
		case '\\':
			if p.i >= len(p.b) {
				break
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\n':
				continue
			case '\r':
				if p.i < len(p.b) && p.b[p.i] == '\n' {
					p.i++
				}
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '7'; k++ {
						v = v*8 + int(p.b[p.i]-'0')
						p.i++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, errors.New("unterminated string")
}
