package scheduler

import (
	"bytes"
	"hash/maphash"
	"math"
	"regexp"
	"strings"
)

// valueIndex maps the distinct values of one kind (node names, container
// names, container IDs, image refs) to the nodes holding them, and lets a
// glob such as *redis* find the values containing its longest literal run
// with one bytes.Index sweep instead of a pattern match per value.
//
// It exists for memory: these values number one or more per container
// (300,000 at 10,000 nodes), and a Go map entry for each plus a second
// map from value to text offset for the sweeps cost ~600 bytes per
// container. Here every value's bytes live once, in text (newline-
// separated, after a leading newline), and a hash table of 8-byte slots,
// each the value's offset in text and its one node (or the index of its
// posting in multi, for the few values on several nodes), finds them; a
// byte of hash per slot (tags) keeps probing off the text. The slots
// hold no pointers, so the garbage collector does not scan them.
//
// The table uses linear probing in a power-of-two array; a removed value
// leaves a tombstone until the next rehash. Values are appended to text
// when they first appear and become garbage when they go; text is
// rebuilt once garbage outweighs live bytes, so maintenance is amortized
// O(len(value)). Values containing a newline (Docker forbids them in
// names) are kept aside in odd and always checked. text is limited to
// 2 GiB (int32 offsets), far beyond any cluster's names.
type valueIndex struct {
	text    []byte
	garbage int // bytes of removed values still in text
	// alphabet marks every byte any value in text ever held (reset on
	// rebuild), so a needle with a foreign byte — '-' against hex IDs —
	// skips the sweep entirely.
	alphabet [256]bool

	slots []valueSlot
	tags  []uint8 // per slot: tagEmpty, tagDead, or tagOf(hash)
	live  int     // slots holding a value
	dead  int     // tombstones
	seed  maphash.Seed

	// multi holds the postings of values on several nodes; free lists
	// its unused entries.
	multi []*posting
	free  []int32

	odd postings
}

// valueSlot is one value of a valueIndex: its offset in text and its
// nodes: one+1 for a value on node one (as postingRef.one), or -(k+1)
// for the posting multi[k].
type valueSlot struct {
	at   int32
	node int32
}

// ref returns the nodes of the value in slot k.
func (x *valueIndex) ref(k int) postingRef {
	if n := x.slots[k].node; n < 0 {
		return postingRef{p: x.multi[-n-1]}
	}
	return postingRef{one: x.slots[k].node}
}

// setRef makes r the nodes of the value in slot k; an empty r leaves the
// slot for remove to clear.
func (x *valueIndex) setRef(k int, r postingRef) {
	n := x.slots[k].node
	switch {
	case r.p == nil:
		if n < 0 {
			x.multi[-n-1] = nil
			x.free = append(x.free, -n-1)
		}
		x.slots[k].node = r.one
	case n < 0:
		x.multi[-n-1] = r.p
	case len(x.free) > 0:
		m := x.free[len(x.free)-1]
		x.free = x.free[:len(x.free)-1]
		x.multi[m] = r.p
		x.slots[k].node = -m - 1
	default:
		x.multi = append(x.multi, r.p)
		x.slots[k].node = -int32(len(x.multi))
	}
}

const (
	tagEmpty = 0
	tagDead  = 1
)

// tagOf is the tag byte of a hash: its top seven bits, with the high bit
// set so that it is never tagEmpty or tagDead.
func tagOf(h uint64) uint8 { return uint8(h>>57) | 0x80 }

func newValueIndex() *valueIndex {
	return &valueIndex{text: []byte{'\n'}, seed: maphash.MakeSeed(), odd: postings{}}
}

// find returns the slot holding v, or -1.
func (x *valueIndex) find(v string) int {
	if len(x.slots) == 0 {
		return -1
	}
	return x.lookup(v, maphash.String(x.seed, v))
}

// lookup is find for a value whose hash is h.
func (x *valueIndex) lookup(v string, h uint64) int {
	mask := len(x.slots) - 1
	tag := tagOf(h)
	for k := int(h) & mask; ; k = (k + 1) & mask {
		switch x.tags[k] {
		case tagEmpty:
			return -1
		case tag:
			at := int(x.slots[k].at)
			if end := at + len(v); end < len(x.text) && x.text[end] == '\n' && string(x.text[at:end]) == v {
				return k
			}
		}
	}
}

// get returns the nodes holding v.
func (x *valueIndex) get(v string) postingRef {
	if len(x.odd) > 0 && strings.IndexByte(v, '\n') >= 0 {
		return x.odd[v]
	}
	if k := x.find(v); k >= 0 {
		return x.ref(k)
	}
	return postingRef{}
}

// value returns the bytes of the value in slot k, valid until the next
// change to the index.
func (x *valueIndex) value(k int) []byte { return x.textAt(x.slots[k].at) }

// textAt is the value whose bytes start at offset at of the text.
func (x *valueIndex) textAt(at int32) []byte {
	return x.text[at : int(at)+bytes.IndexByte(x.text[at:], '\n')]
}

// add records that slot i holds v.
func (x *valueIndex) add(v string, i int32) {
	if strings.IndexByte(v, '\n') >= 0 {
		x.odd.add(v, i)
		return
	}
	h := maphash.String(x.seed, v)
	if len(x.slots) > 0 {
		if k := x.lookup(v, h); k >= 0 {
			x.setRef(k, x.ref(k).with(i))
			return
		}
	}
	if (x.live+x.dead+1)*8 > len(x.slots)*7 {
		x.rehash()
	}
	if len(x.text) > math.MaxInt32-len(v)-1 {
		panic("scheduler: value index text exceeds 2 GiB")
	}
	at := int32(len(x.text))
	x.text = append(x.text, v...)
	x.text = append(x.text, '\n')
	for k := 0; k < len(v); k++ {
		x.alphabet[v[k]] = true
	}
	x.insert(h, valueSlot{at: at, node: i + 1})
	x.live++
}

// insert puts s into the first free slot of its probe sequence; the
// value must not be in the table.
func (x *valueIndex) insert(h uint64, s valueSlot) {
	mask := len(x.slots) - 1
	k := int(h) & mask
	for x.tags[k] > tagDead {
		k = (k + 1) & mask
	}
	if x.tags[k] == tagDead {
		x.dead--
	}
	x.tags[k], x.slots[k] = tagOf(h), s
}

// rehash rebuilds the table without tombstones, doubled when live values
// would fill more than half of it.
func (x *valueIndex) rehash() {
	n := max(len(x.slots), 8)
	if (x.live+1)*2 > n {
		n *= 2
	}
	slots, tags := x.slots, x.tags
	x.slots, x.tags, x.dead = make([]valueSlot, n), make([]uint8, n), 0
	for k, t := range tags {
		if t > tagDead {
			x.insert(maphash.Bytes(x.seed, x.textAt(slots[k].at)), slots[k])
		}
	}
}

// remove records that slot i no longer holds v.
func (x *valueIndex) remove(v string, i int32) {
	if strings.IndexByte(v, '\n') >= 0 {
		x.odd.remove(v, i)
		return
	}
	k := x.find(v)
	if k < 0 {
		return
	}
	r := x.ref(k).without(i)
	x.setRef(k, r) // frees the multi entry when r is inline or empty
	if !r.empty() {
		return
	}
	x.tags[k], x.slots[k] = tagDead, valueSlot{}
	x.live--
	x.dead++
	x.garbage += len(v) + 1
	if x.garbage > len(x.text)/2 {
		x.compact()
	}
}

// compact rewrites text with only the live values.
func (x *valueIndex) compact() {
	text := make([]byte, 1, len(x.text)-x.garbage)
	text[0] = '\n'
	x.alphabet = [256]bool{}
	for k, t := range x.tags {
		if t <= tagDead {
			continue
		}
		v := x.value(k)
		x.slots[k].at = int32(len(text))
		text = append(text, v...)
		text = append(text, '\n')
		for _, b := range v {
			x.alphabet[b] = true
		}
	}
	x.text, x.garbage = text, 0
}

// orGlob adds the nodes of every value the glob matches to dst, which
// must be sized to the snapshot.
func (x *valueIndex) orGlob(dst *NodeSet, g glob) {
	for v, r := range x.odd {
		if g.match(v) {
			r.orInto(dst)
		}
	}
	if g.literal() {
		if k := x.find(g.lit); k >= 0 {
			x.ref(k).orInto(dst)
		}
		return
	}
	needle := g.needle()
	if needle == "" { // only wildcards: every value matches
		for k, t := range x.tags {
			if t > tagDead {
				x.ref(k).orInto(dst)
			}
		}
		return
	}
	sweepLines(x.text, &x.alphabet, needle, func(start, end int) {
		v := string(x.text[start:end])
		if s := x.find(v); s >= 0 && int(x.slots[s].at) == start && g.match(v) {
			x.ref(s).orInto(dst)
		}
	})
}

// orRegexp adds the nodes of every value re matches to dst, which must be
// sized to the snapshot.
func (x *valueIndex) orRegexp(dst *NodeSet, re *regexp.Regexp) {
	for v, r := range x.odd {
		if re.MatchString(v) {
			r.orInto(dst)
		}
	}
	for k, t := range x.tags {
		if t > tagDead && re.Match(x.value(k)) {
			x.ref(k).orInto(dst)
		}
	}
}
