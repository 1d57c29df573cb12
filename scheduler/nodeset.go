package scheduler

import "math/bits"

// NodeSet is a set of nodes of one snapshot, as a bitset over the
// snapshot's node slots. At 10,000 nodes a set is 157 words, so set
// algebra costs far less than looking at the nodes. The zero value is an
// empty set. A NodeSet is not safe for concurrent use.
type NodeSet struct {
	w []uint64
}

// Len returns the number of nodes in the set.
func (s *NodeSet) Len() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// reset empties the set and sizes it for words words.
func (s *NodeSet) reset(words int) {
	if cap(s.w) < words {
		s.w = make([]uint64, words)
		return
	}
	s.w = s.w[:words]
	clear(s.w)
}

func (s *NodeSet) grow(words int) {
	if len(s.w) >= words {
		return
	}
	if cap(s.w) >= words {
		old := len(s.w)
		s.w = s.w[:words]
		clear(s.w[old:])
		return
	}
	w := make([]uint64, words, words*2)
	copy(w, s.w)
	s.w = w
}

func (s *NodeSet) add(i int32) {
	s.grow(int(i)/64 + 1)
	s.w[i/64] |= 1 << (uint(i) % 64)
}

func (s *NodeSet) remove(i int32) {
	if int(i)/64 < len(s.w) {
		s.w[i/64] &^= 1 << (uint(i) % 64)
	}
}

func (s *NodeSet) has(i int32) bool {
	return int(i)/64 < len(s.w) && s.w[i/64]&(1<<(uint(i)%64)) != 0
}

// copyFrom makes s equal to o, sized to o.
func (s *NodeSet) copyFrom(o *NodeSet) {
	s.reset(len(o.w))
	copy(s.w, o.w)
}

// orWords adds the set bits of w.
func (s *NodeSet) orWords(w []uint64) {
	n := min(len(w), len(s.w))
	for i := 0; i < n; i++ {
		s.w[i] |= w[i]
	}
}

// orNot adds every node of all that is not in o (all &^ o).
func (s *NodeSet) orNot(all, o *NodeSet) {
	for i := range s.w {
		var a, b uint64
		if i < len(all.w) {
			a = all.w[i]
		}
		if i < len(o.w) {
			b = o.w[i]
		}
		s.w[i] |= a &^ b
	}
}

// each calls fn for every node in the set in slot order until fn returns
// false.
func (s *NodeSet) each(fn func(i int32) bool) {
	for wi, w := range s.w {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			w &= w - 1
			if !fn(int32(wi*64 + b)) {
				return
			}
		}
	}
}

// posting is an index entry: the nodes that have some value. Small
// postings are a slot list so that 300,000 container names do not each
// cost a bitset; past denseAt they switch to a bitset.
type posting struct {
	sparse []int32
	dense  NodeSet
	isSet  bool
	n      int
}

const denseAt = 32

func (p *posting) add(i int32) {
	if p.isSet {
		if !p.dense.has(i) {
			p.dense.add(i)
			p.n++
		}
		return
	}
	for _, j := range p.sparse {
		if j == i {
			return
		}
	}
	p.sparse = append(p.sparse, i)
	p.n++
	if p.n > denseAt {
		for _, j := range p.sparse {
			p.dense.add(j)
		}
		p.sparse, p.isSet = nil, true
	}
}

func (p *posting) remove(i int32) {
	if p.isSet {
		if p.dense.has(i) {
			p.dense.remove(i)
			p.n--
		}
		return
	}
	for k, j := range p.sparse {
		if j == i {
			last := len(p.sparse) - 1
			p.sparse[k] = p.sparse[last]
			p.sparse = p.sparse[:last]
			p.n--
			return
		}
	}
}

// orInto adds the posting's nodes to dst; dst must be sized to the
// snapshot.
func (p *posting) orInto(dst *NodeSet) {
	if p == nil {
		return
	}
	if p.isSet {
		dst.orWords(p.dense.w)
		return
	}
	for _, j := range p.sparse {
		dst.w[j/64] |= 1 << (uint(j) % 64)
	}
}

// asSet returns the posting as a NodeSet, or nil for a sparse posting.
func (p *posting) asSet() *NodeSet {
	if p != nil && p.isSet {
		return &p.dense
	}
	return nil
}

// postings maps values to postings, dropping empty entries so that churn
// in names does not leak memory.
type postings map[string]*posting

func (m postings) add(key string, i int32) {
	p := m[key]
	if p == nil {
		p = &posting{}
		m[key] = p
	}
	p.add(i)
}

func (m postings) remove(key string, i int32) {
	if p := m[key]; p != nil {
		p.remove(i)
		if p.n == 0 {
			delete(m, key)
		}
	}
}
