package pdfacheck

import (
	"bytes"
)

// glyphs checks the text each page shows (6.2.11.8): no text showing
// operator may draw the .notdef glyph. It reads the pages' content
// streams for Tf, Tj, TJ, ' and ", and, for the Type0 fonts with
// Identity-H encoding recordbot uses, maps each two-byte code through
// the font's CIDToGIDMap: a code that maps to glyph 0 is .notdef.
func (c *checker) glyphs(cat dict) {
	f := c.f
	var pages []dict
	var walk func(node dict, res dict, depth int)
	walk = func(node dict, res dict, depth int) {
		if node == nil || depth > 32 {
			return
		}
		if r := f.dict(node["Resources"]); r != nil {
			res = r
		}
		if f.name(node["Type"]) == "Page" {
			node["Resources"] = res
			pages = append(pages, node)
			return
		}
		for _, k := range f.array(node["Kids"]) {
			walk(f.dict(k), res, depth+1)
		}
	}
	walk(f.dict(cat["Pages"]), nil, 0)
	for i, pg := range pages {
		fonts := f.dict(f.dict(pg["Resources"])["Font"])
		var content []byte
		contents, _ := f.resolve(pg["Contents"])
		streams := []any{contents}
		if a, ok := contents.([]any); ok {
			streams = a
		}
		for _, s := range streams {
			s, _ = f.resolve(s)
			if st, ok := s.(*stream); ok {
				data, err := f.decode(st)
				if err != nil {
					c.fail("page %d's content cannot be read: %v", i+1, err)
					return
				}
				content = append(append(content, data...), '\n')
			}
		}
		if n := c.notdefs(content, fonts); n > 0 {
			c.fail("6.2.11.8: page %d shows the .notdef glyph %d times", i+1, n)
		}
	}
}

// notdefs counts the codes shown in content that are .notdef in their font.
func (c *checker) notdefs(content []byte, fonts dict) int {
	f := c.f
	var maps = map[name][]byte{}
	gidMap := func(res name) []byte {
		if m, ok := maps[res]; ok {
			return m
		}
		var m []byte
		font := f.dict(fonts[res])
		if f.name(font["Subtype"]) == "Type0" && f.name(font["Encoding"]) == "Identity-H" {
			if ds := f.array(font["DescendantFonts"]); len(ds) == 1 {
				if v, _ := f.resolve(f.dict(ds[0])["CIDToGIDMap"]); v != nil {
					if s, ok := v.(*stream); ok {
						m, _ = f.decode(s)
					}
				}
			}
		}
		maps[res] = m
		return m
	}
	count := 0
	shown := func(cur name, s string) {
		m := gidMap(cur)
		if m == nil {
			return
		}
		for i := 0; i+1 < len(s); i += 2 {
			cid := int(s[i])<<8 | int(s[i+1])
			if 2*cid+1 >= len(m) || m[2*cid] == 0 && m[2*cid+1] == 0 {
				count++
			}
		}
	}
	p := &lexer{b: content}
	var operands []any
	var cur name
	for {
		p.space()
		if p.i >= len(p.b) {
			return count
		}
		ch := p.b[p.i]
		if bytes.IndexByte([]byte("/([<+-.0123456789"), ch) >= 0 {
			v, err := p.value()
			if err != nil {
				return count
			}
			operands = append(operands, v)
			continue
		}
		op := p.token()
		if op == "" {
			p.i++
			continue
		}
		switch op {
		case "Tf":
			if len(operands) >= 2 {
				cur, _ = operands[len(operands)-2].(name)
			}
		case "Tj", "'", "\"":
			if len(operands) > 0 {
				if s, ok := operands[len(operands)-1].(string); ok {
					shown(cur, s)
				}
			}
		case "TJ":
			if len(operands) > 0 {
				if a, ok := operands[len(operands)-1].([]any); ok {
					for _, x := range a {
						if s, ok := x.(string); ok {
							shown(cur, s)
						}
					}
				}
			}
		}
		operands = operands[:0]
	}
}
