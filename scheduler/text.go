package scheduler

import (
	"bytes"
	"strings"
)

// textIndex lets a glob such as *redis* find the node IDs (whose slots
// the snapshot's byID map holds; valueIndex does the same for values with
// postings) that contain its longest literal run with one bytes.Index sweep
// over a newline-separated text of every distinct value, instead of a
// pattern match per map entry: at 300,000 names that is a few megabytes
// scanned at memory speed.
//
// Values are appended when they first appear and tombstoned when they
// go; the text is rebuilt once tombstones outweigh live bytes, so
// maintenance is amortized O(len(value)). Values containing a newline
// (Docker forbids them in names) are kept aside and always checked.
type textIndex struct {
	buf     []byte
	at      map[string]int // live value → offset of its first byte in buf
	garbage int
	odd     map[string]struct{}
	// alphabet marks every byte any value ever held (reset on rebuild),
	// so a needle with a foreign byte — '-' against hex IDs — skips the
	// sweep entirely.
	alphabet [256]bool
}

func newTextIndex() *textIndex {
	return &textIndex{buf: []byte{'\n'}, at: map[string]int{}, odd: map[string]struct{}{}}
}

func (t *textIndex) add(v string) {
	if strings.IndexByte(v, '\n') >= 0 {
		t.odd[v] = struct{}{}
		return
	}
	if _, ok := t.at[v]; ok {
		return
	}
	t.at[v] = len(t.buf)
	t.buf = append(t.buf, v...)
	t.buf = append(t.buf, '\n')
	for k := 0; k < len(v); k++ {
		t.alphabet[v[k]] = true
	}
}

func (t *textIndex) remove(v string) {
	if _, ok := t.odd[v]; ok {
		delete(t.odd, v)
		return
	}
	if _, ok := t.at[v]; !ok {
		return
	}
	delete(t.at, v)
	t.garbage += len(v) + 1
	if t.garbage > len(t.buf)/2 {
		t.rebuild()
	}
}

func (t *textIndex) rebuild() {
	buf := make([]byte, 1, len(t.buf)-t.garbage+1)
	buf[0] = '\n'
	t.alphabet = [256]bool{}
	for v := range t.at {
		t.at[v] = len(buf)
		buf = append(buf, v...)
		buf = append(buf, '\n')
		for k := 0; k < len(v); k++ {
			t.alphabet[v[k]] = true
		}
	}
	t.buf, t.garbage = buf, 0
}

// each calls fn for every live value the glob matches.
func (t *textIndex) each(g glob, fn func(v string)) {
	for v := range t.odd {
		if g.match(v) {
			fn(v)
		}
	}
	if g.literal() {
		if _, ok := t.at[g.lit]; ok {
			fn(g.lit)
		}
		return
	}
	needle := g.needle()
	if needle == "" { // only wildcards: every value matches
		for v := range t.at {
			fn(v)
		}
		return
	}
	sweepLines(t.buf, &t.alphabet, needle, func(start, end int) {
		v := t.buf[start:end]
		if off, ok := t.at[string(v)]; ok && off == start && g.match(string(v)) {
			fn(string(v))
		}
	})
}

// sweepLines calls fn(start, end) for every newline-terminated line of
// text holding needle, once per line, in order: one bytes.Index sweep
// instead of a pattern match per value. alphabet marks every byte text
// holds, so a needle with another byte is rejected without a sweep.
func sweepLines(text []byte, alphabet *[256]bool, needle string, fn func(start, end int)) {
	for k := 0; k < len(needle); k++ {
		if !alphabet[needle[k]] {
			return
		}
	}
	n := []byte(needle)
	for pos := 0; ; {
		k := bytes.Index(text[pos:], n)
		if k < 0 {
			return
		}
		hit := pos + k
		start := bytes.LastIndexByte(text[:hit], '\n') + 1
		end := hit + bytes.IndexByte(text[hit:], '\n')
		fn(start, end)
		pos = end + 1
	}
}
