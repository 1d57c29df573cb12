package scheduler

import "strings"

// The lookups below are the index-based twins of the per-node Match…
// methods in match.go: each adds to dst exactly the nodes for which the
// per-node method reports a match, ignoring the operator. Filters use them
// in their fast path; dst must come from Candidates.Scratch (sized to the
// snapshot). Literal patterns cost a map lookup; globs and regular
// expressions scan the distinct values of the key, not the nodes.

// NodesMatchingName adds the nodes whose name or ID matches e.
func (s *Snapshot) NodesMatchingName(dst *NodeSet, e *Expr) {
	if lits, ok := e.Literals(); ok {
		for _, l := range lits {
			s.names.get(l).orInto(dst)
			if i, ok := s.byID[l]; ok {
				dst.add(i)
			}
		}
		return
	}
	if e.re != nil {
		s.names.orRegexp(dst, e.re)
		for id, i := range s.byID {
			if e.Match(id) {
				dst.add(i)
			}
		}
		return
	}
	for _, g := range e.alts {
		s.names.orGlob(dst, g)
		s.nodeIDText.each(g, func(v string) { dst.add(s.byID[v]) })
	}
}

// NodesMatchingLabel adds the nodes whose engine label e.Key matches e,
// a missing label matching as the empty string.
func (s *Snapshot) NodesMatchingLabel(dst *NodeSet, e *Expr) {
	if li := s.labels[e.Key]; li != nil {
		s.matchingValues(dst, e, &s.live, li.vals, &li.has)
		return
	}
	s.matchingValues(dst, e, &s.live, nil, nil)
}

// matchingValues adds the nodes whose value of one key (vals: value →
// nodes) matches e. When e matches "" it also adds the nodes of base
// where the key is missing somewhere, since a missing key offers "":
// base minus complete, the nodes where the key is never missing (nil
// for none). Engine and container labels share it.
func (s *Snapshot) matchingValues(dst *NodeSet, e *Expr, base *NodeSet, vals postings, complete *posting) {
	if e.Match("") {
		if complete == nil {
			dst.orWords(base.w)
		} else {
			dst.orNot(base, complete.asSetOrBuild(s))
		}
	}
	if lits, ok := e.Literals(); ok {
		for _, l := range lits {
			vals[l].orInto(dst)
		}
		return
	}
	vals.orMatching(dst, e)
}

// orMatching adds the nodes of every value e's pattern matches.
func (m postings) orMatching(dst *NodeSet, e *Expr) {
	for v, p := range m {
		if e.Match(v) {
			p.orInto(dst)
		}
	}
}

// asSetOrBuild returns the posting as a set, building a temporary one
// for a sparse posting.
func (p *posting) asSetOrBuild(s *Snapshot) *NodeSet {
	if set := p.asSet(); set != nil {
		return set
	}
	tmp := &NodeSet{}
	tmp.reset(s.words())
	p.orInto(tmp)
	return tmp
}

// NodesMatchingContainer adds the nodes holding a container whose name,
// ID or (literal of four characters or more) ID prefix matches e.
func (s *Snapshot) NodesMatchingContainer(dst *NodeSet, e *Expr) {
	if e.re != nil {
		s.cnames.orRegexp(dst, e.re)
		s.cids.orRegexp(dst, e.re)
		return
	}
	for _, g := range e.alts {
		s.cnames.orGlob(dst, g)
		s.cids.orGlob(dst, g)
		if g.literal() {
			s.idPrefix(dst, g.lit)
		}
	}
}

// idPrefix adds the nodes holding a container whose ID starts with ref
// (at least minIDPrefix characters long).
func (s *Snapshot) idPrefix(dst *NodeSet, ref string) {
	if len(ref) < minIDPrefix {
		return
	}
	p, ok := s.cidPrefix[ref[:minIDPrefix]]
	if !ok {
		return
	}
	if len(ref) == minIDPrefix {
		p.orInto(dst)
		return
	}
	check := func(i int32) bool {
		for _, c := range s.nodes[i].Containers {
			if strings.HasPrefix(c.ID, ref) {
				dst.add(i)
				break
			}
		}
		return true
	}
	if set := p.asSet(); set != nil {
		set.each(check)
		return
	}
	p.each(check)
}

// NodesMatchingContainerLabel adds the nodes where some container's label
// e.Key matches e; a container without the label offers "".
func (s *Snapshot) NodesMatchingContainerLabel(dst *NodeSet, e *Expr) {
	if ci := s.clabels[e.Key]; ci != nil {
		s.matchingValues(dst, e, &s.nonzero, ci.vals, &ci.allHave)
		return
	}
	s.matchingValues(dst, e, &s.nonzero, nil, nil)
}

// NodesMatchingImage adds the nodes holding an image that answers to e.
func (s *Snapshot) NodesMatchingImage(dst *NodeSet, e *Expr) {
	if e.re != nil {
		s.images.orRegexp(dst, e.re)
		return
	}
	for _, g := range e.alts {
		s.images.orGlob(dst, g)
	}
}

// NodesHoldingContainer adds the nodes for which HoldsContainer(n, ref)
// is true.
func (s *Snapshot) NodesHoldingContainer(dst *NodeSet, ref string) {
	s.cnames.get(ref).orInto(dst)
	s.cids.get(ref).orInto(dst)
	s.idPrefix(dst, ref)
}

// NodesBindingPort adds the nodes where BindsPort(n, want) is true.
func (s *Snapshot) NodesBindingPort(dst *NodeSet, want Port) {
	pi := s.ports[portKey{want.HostPort, want.Proto}]
	if pi == nil {
		return
	}
	if allAddresses(want.HostIP) {
		pi.any.orInto(dst)
		return
	}
	pi.byIP[""].orInto(dst)
	pi.byIP[want.HostIP].orInto(dst)
}

// NodesBindingHostPort adds the nodes where BindsHostPort(n, want) is
// true.
func (s *Snapshot) NodesBindingHostPort(dst *NodeSet, want Port) {
	s.hostPorts[portKey{want.HostPort, want.Proto}].orInto(dst)
}

// HealthyNodes returns the healthy nodes. The set belongs to the
// snapshot: read it, never modify it.
func (s *Snapshot) HealthyNodes() *NodeSet { return &s.healthy }

// FullNodes returns the nodes where SlotsFull is true. The set belongs to
// the snapshot: read it, never modify it.
func (s *Snapshot) FullNodes() *NodeSet { return &s.full }

// HealthyNodeHasImage reports whether some healthy node holds an image
// that answers to e's pattern (see MatchImages), through the image index:
// what a create asks before deciding that an image exists nowhere,
// without visiting every node's images.
func (s *Snapshot) HealthyNodeHasImage(e *Expr) bool {
	var set NodeSet
	set.reset(s.words())
	s.NodesMatchingImage(&set, e)
	for k, w := range set.w {
		if k < len(s.healthy.w) && w&s.healthy.w[k] != 0 {
			return true
		}
	}
	return false
}
