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

// postingRef is a postings value: the one slot holding it, inline (one
// is slot+1; the common case, as a container name or ID is on one node),
// or a shared *posting once several nodes hold it. Inline, the 90,000
// names, IDs and ID prefixes of 30,000 containers cost no posting each.
type postingRef struct {
	one int32
	p   *posting
}

// orInto adds the value's nodes to dst, which must be sized to the
// snapshot.
func (r postingRef) orInto(dst *NodeSet) {
	if r.p != nil {
		r.p.orInto(dst)
	} else if r.one > 0 {
		dst.add(r.one - 1)
	}
}

// asSet returns the value's nodes as a NodeSet, or nil unless it is dense.
func (r postingRef) asSet() *NodeSet { return r.p.asSet() }

// each calls fn with every slot of a value that is not dense.
func (r postingRef) each(fn func(i int32) bool) {
	if r.p == nil {
		if r.one > 0 {
			fn(r.one - 1)
		}
		return
	}
	for _, i := range r.p.sparse {
		if !fn(i) {
			return
		}
	}
}

// postings maps values to the nodes holding them, dropping empty entries
// so that churn in names does not leak memory.
type postings map[string]postingRef

// with returns the value's nodes plus slot i.
func (r postingRef) with(i int32) postingRef {
	switch {
	case r.p != nil:
		r.p.add(i)
	case r.one == 0:
		r.one = i + 1
	case r.one != i+1:
		p := &posting{}
		p.add(r.one - 1)
		p.add(i)
		r = postingRef{p: p}
	}
	return r
}

// without returns the value's nodes minus slot i; the zero postingRef
// when none is left.
func (r postingRef) without(i int32) postingRef {
	switch {
	case r.p == nil:
		if r.one == i+1 {
			r.one = 0
		}
	default:
		r.p.remove(i)
		switch {
		case r.p.n == 0:
			r = postingRef{}
		case r.p.n == 1 && !r.p.isSet:
			r = postingRef{one: r.p.sparse[0] + 1} // back inline
		}
	}
	return r
}

// empty reports whether no node holds the value.
func (r postingRef) empty() bool { return r.p == nil && r.one == 0 }

func (m postings) add(key string, i int32) {
	r, ok := m[key]
	if n := r.with(i); !ok || n != r {
		m[key] = n
	}
}

func (m postings) remove(key string, i int32) {
	r, ok := m[key]
	if !ok {
		return
	}
	if r = r.without(i); r.empty() {
		delete(m, key)
	} else {
		m[key] = r
	}
}
