package fakeengine

import (
	"strconv"
	"unicode/utf8"

	"github.com/docker/go-connections/nat"
)

// jsonParser is the cursor of decodeCreateFast. Every method returns false
// when the fast path must give up; it never reports a JSON error itself.
type jsonParser struct {
	b []byte
	i int
}

// maxSkipDepth bounds the nesting skip follows; deeper input is left to
// encoding/json (whose own limit is far higher).
const maxSkipDepth = 64

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// literal consumes lit if it comes next.
func (p *jsonParser) literal(lit string) bool {
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// null consumes a null if it comes next.
func (p *jsonParser) null() bool { return p.literal("null") }

// object parses {"key": value, ...}; member is called with the cursor on
// the value and must consume it. key aliases the body: most keys are only
// looked up, so they are not copied into strings.
func (p *jsonParser) object(member func(key []byte) bool) bool {
	p.ws()
	if p.peek() != '{' {
		return false
	}
	p.i++
	p.ws()
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		p.ws()
		key, ok := p.rawStr()
		if !ok {
			return false
		}
		p.ws()
		if p.peek() != ':' {
			return false
		}
		p.i++
		p.ws()
		if !member(key) {
			return false
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// array parses [value, ...]; elem is called with the cursor on each value.
func (p *jsonParser) array(elem func() bool) bool {
	if p.peek() != '[' {
		return false
	}
	p.i++
	p.ws()
	if p.peek() == ']' {
		p.i++
		return true
	}
	for {
		p.ws()
		if !elem() {
			return false
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

// str parses a string without escapes or control characters, whose bytes
// are valid UTF-8: then it is exactly what encoding/json would decode.
func (p *jsonParser) str() (string, bool) {
	s, ok := p.rawStr()
	return string(s), ok
}

// rawStr is str without the copy: the result aliases the body.
func (p *jsonParser) rawStr() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false // encoding/json would replace the bad bytes
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// stringInto parses a string into dst; null leaves dst alone.
func (p *jsonParser) stringInto(dst *string) bool {
	if p.null() {
		return true
	}
	s, ok := p.str()
	*dst = s
	return ok
}

func (p *jsonParser) boolInto(dst *bool) bool {
	switch {
	case p.null():
	case p.literal("true"):
		*dst = true
	case p.literal("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// int64Into parses a plain JSON integer; fractions and exponents (which
// encoding/json refuses for integers) give up.
func (p *jsonParser) int64Into(dst *int64) bool {
	if p.null() {
		return true
	}
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
		}
	default:
		return false
	}
	if c := p.peek(); c == '.' || c == 'e' || c == 'E' || ('0' <= c && c <= '9') {
		return false
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	*dst = n
	return err == nil
}

// stringsInto parses an array of strings; null is a nil slice, [] an
// empty one, as encoding/json (and strslice.StrSlice) decode them.
func (p *jsonParser) stringsInto(dst *[]string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	out := []string{}
	ok := p.array(func() bool {
		s, ok := p.str()
		out = append(out, s)
		return ok
	})
	*dst = out
	return ok
}

// stringMap parses an object of strings; null is a nil map.
func (p *jsonParser) stringMap(dst *map[string]string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	m := map[string]string{}
	*dst = m
	return p.object(func(key []byte) bool {
		v, ok := p.str()
		m[string(key)] = v
		return ok
	})
}

// emptyObject consumes {} (with any whitespace inside).
func (p *jsonParser) emptyObject() bool {
	return p.object(func([]byte) bool { return false })
}

func (p *jsonParser) portSet(dst *nat.PortSet) bool {
	if p.null() {
		*dst = nil
		return true
	}
	m := nat.PortSet{}
	*dst = m
	return p.object(func(key []byte) bool {
		m[nat.Port(key)] = struct{}{}
		return p.emptyObject()
	})
}

func (p *jsonParser) volumes(dst *map[string]struct{}) bool {
	if p.null() {
		*dst = nil
		return true
	}
	m := map[string]struct{}{}
	*dst = m
	return p.object(func(key []byte) bool {
		m[string(key)] = struct{}{}
		return p.emptyObject()
	})
}

// skip consumes any one JSON value, checking its syntax as encoding/json
// does, so a malformed member the engine ignores still fails the create.
func (p *jsonParser) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(func([]byte) bool { return p.skip(depth + 1) })
	case c == '[':
		return p.array(func() bool { return p.skip(depth + 1) })
	case c == '"':
		return p.skipString()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.null()
	case c == '-' || ('0' <= c && c <= '9'):
		return p.skipNumber()
	}
	return false
}

// skipString consumes a string with any valid escapes.
func (p *jsonParser) skipString() bool {
	p.i++ // the opening quote
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			p.i++
			switch p.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				if len(p.b)-p.i < 5 {
					return false
				}
				for _, h := range p.b[p.i+1 : p.i+5] {
					if !isHex(h) {
						return false
					}
				}
				p.i += 5
			default:
				return false
			}
		default:
			p.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// skipNumber consumes a number of the JSON grammar:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func (p *jsonParser) skipNumber() bool {
	digits := func() bool {
		start := p.i
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
		}
		return p.i > start
	}
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		digits()
	default:
		return false
	}
	if p.peek() == '.' {
		p.i++
		if !digits() {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !digits() {
			return false
		}
	}
	return true
}
