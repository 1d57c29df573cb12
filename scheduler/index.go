package scheduler

import (
	"maps"
	"slices"
)

// update re-indexes slot i from old to n in time proportional to what
// changed. Containers are matched by ID and count as unchanged when
// everything the indexes read (names, labels, ports, network mode) is
// equal, whether or not the cluster rebuilt the *Container; only added,
// removed and changed ones touch the indexes, so committing one in-flight
// container costs one container's worth of index work. When many
// containers changed, re-indexing them all is cheaper than diffing.
func (s *Snapshot) update(i int32, old, n *Node) {
	s.indexNumbers(i, n)
	if old.Name != n.Name {
		s.names.remove(old.Name, i)
		s.names.add(n.Name, i)
	}
	if !maps.Equal(old.Labels, n.Labels) {
		s.indexLabels(i, old, false)
		s.indexLabels(i, n, true)
	}

	added, removed, sorted := diffSorted(old.Containers, n.Containers, s.inOrder.has(i), s.added[:0], s.removed[:0])
	setIf(&s.inOrder, i, sorted)
	if !sorted {
		added, removed = s.diffByID(old.Containers, n.Containers, added[:0], removed[:0])
	}
	if len(removed) > maxDiffRemovals {
		// Withdraw every old entry (idempotent), then index the new set.
		for _, c := range old.Containers {
			s.indexContainer(i, c, false)
		}
		added = append(added[:0], n.Containers...)
		removed = append(removed[:0], old.Containers...)
	} else {
		for _, c := range removed {
			s.removeContainer(i, c, n.Containers)
		}
	}
	for _, c := range added {
		s.indexContainer(i, c, true)
	}
	if len(added) > 0 || len(removed) > 0 {
		s.dropEmptyLabels(removed)
		s.indexAllHave(i, n)
	}
	s.added, s.removed = added[:0], removed[:0]

	if !s.sameImages(old.Images, n.Images) {
		s.indexImages(i, old, false)
		s.indexImages(i, n, true)
	}
}

// diffSorted lists the containers added to and removed from a node (a
// changed container counts as both) by walking both lists in step, which
// costs no map work when both are sorted by ID, as the cluster keeps them.
// It reports false, leaving the diff to diffByID, when either list is not
// strictly sorted (duplicate IDs included); oldInOrder says old is known to
// be, which spares comparing the IDs of containers cur shares with it.
func diffSorted(old, cur []*Container, oldInOrder bool, added, removed []*Container) ([]*Container, []*Container, bool) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		if oldInOrder && i < len(old) && j < len(cur) && old[i] == cur[j] {
			// The same container as in old, which is known to be in
			// order. cur is in order up to it too: the walk got past
			// cur[j-1] either as an addition, which it made only for an
			// ID below old[i]'s, or as old[i-1]'s ID, which is below
			// old[i]'s. No string compared.
			i++
			j++
			continue
		}
		switch {
		case i > 0 && i < len(old) && old[i-1].ID >= old[i].ID,
			j > 0 && j < len(cur) && cur[j-1].ID >= cur[j].ID:
			return added, removed, false
		case j == len(cur) || i < len(old) && old[i].ID < cur[j].ID:
			removed = append(removed, old[i])
			i++
		case i == len(old) || cur[j].ID < old[i].ID:
			added = append(added, cur[j])
			j++
		default: // same ID
			if o, c := old[i], cur[j]; o != c && !sameIndexed(o, c) {
				removed, added = append(removed, o), append(added, c)
			}
			i++
			j++
		}
	}
	return added, removed, true
}

// diffByID is diffSorted for lists in any order, through a map.
func (s *Snapshot) diffByID(old, cur []*Container, added, removed []*Container) ([]*Container, []*Container) {
	clear(s.byCID)
	for _, c := range old {
		s.byCID[c.ID] = c
	}
	if len(s.byCID) != len(old) {
		// Duplicate IDs on the node: diffing by ID would lose one.
		return append(added, cur...), append(removed, old...)
	}
	for _, c := range cur {
		if o, ok := s.byCID[c.ID]; ok && (o == c || sameIndexed(o, c)) {
			delete(s.byCID, c.ID)
			continue
		}
		added = append(added, c)
	}
	for _, o := range s.byCID {
		removed = append(removed, o)
	}
	return added, removed
}

// maxDiffRemovals bounds the per-container removal checks (each scans
// the node's containers): past it, a full re-index of the node's
// containers is cheaper.
const maxDiffRemovals = 4

// sameIndexed reports whether two versions of a container contribute the
// same index entries. State, image and reservations are not indexed.
func sameIndexed(a, b *Container) bool {
	return a.ID == b.ID && a.NetworkMode == b.NetworkMode &&
		slices.Equal(a.Names, b.Names) && maps.Equal(a.Labels, b.Labels) && slices.Equal(a.Ports, b.Ports)
}

// sameImages reports whether two image lists hold the same images with
// the same refs, in any order.
func (s *Snapshot) sameImages(a, b []*Image) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true // the same list: the cluster reuses it while unchanged
	}
	clear(s.byImage)
	for _, img := range a {
		s.byImage[img.ID] = img
	}
	if len(s.byImage) != len(a) {
		return false
	}
	for _, img := range b {
		o, ok := s.byImage[img.ID]
		if !ok || (o != img && (!slices.Equal(o.RepoTags, img.RepoTags) || !slices.Equal(o.RepoDigests, img.RepoDigests))) {
			return false
		}
	}
	return true
}

// removeContainer withdraws c's entries at slot i, except those another
// container still on the node (in rest) also contributes: postings hold
// nodes, not containers, so a value stays while any container has it.
func (s *Snapshot) removeContainer(i int32, c *Container, rest []*Container) {
	s.countKeys(i, c, -1)
	for _, name := range c.Names {
		if !slices.ContainsFunc(rest, func(o *Container) bool { return slices.Contains(o.Names, name) }) {
			s.cnames.remove(name, i)
		}
	}
	if !slices.ContainsFunc(rest, func(o *Container) bool { return o.ID == c.ID }) {
		s.cids.remove(c.ID, i)
	}
	if len(c.ID) >= minIDPrefix {
		prefix := c.ID[:minIDPrefix]
		if !slices.ContainsFunc(rest, func(o *Container) bool { return len(o.ID) >= minIDPrefix && o.ID[:minIDPrefix] == prefix }) {
			s.cidPrefix.remove(prefix, i)
		}
	}
	for k, v := range c.Labels {
		ci := s.clabels[k]
		if ci == nil {
			continue
		}
		if !slices.ContainsFunc(rest, func(o *Container) bool { ov, ok := o.Labels[k]; return ok && ov == v }) {
			ci.vals.remove(v, i)
		}
		if !slices.ContainsFunc(rest, func(o *Container) bool { _, ok := o.Labels[k]; return ok }) {
			ci.allHave.remove(i)
		}
	}
	for _, p := range c.Ports {
		key := portKey{p.HostPort, p.Proto}
		ip := normalIP(p.HostIP)
		if c.NetworkMode == "host" && !slices.ContainsFunc(rest, func(o *Container) bool {
			return o.NetworkMode == "host" && hasPort(o, key, func(string) bool { return true })
		}) {
			s.hostPort(key, i, false)
		}
		pi := s.ports[key]
		if pi == nil {
			continue
		}
		if !slices.ContainsFunc(rest, func(o *Container) bool { return hasPort(o, key, func(oip string) bool { return oip == ip }) }) {
			pi.byIP.remove(ip, i)
		}
		if !slices.ContainsFunc(rest, func(o *Container) bool { return hasPort(o, key, func(string) bool { return true }) }) {
			pi.any.remove(i)
			if pi.any.n == 0 {
				delete(s.ports, key)
			}
		}
	}
}

// hasPort reports whether c binds key on an address ipOK accepts
// (addresses normalized as the port index stores them).
func hasPort(c *Container, key portKey, ipOK func(string) bool) bool {
	for _, p := range c.Ports {
		if p.HostPort == key.port && p.Proto == key.proto && ipOK(normalIP(p.HostIP)) {
			return true
		}
	}
	return false
}

// normalIP is the port index's key for a host IP: "" for all addresses.
func normalIP(ip string) string {
	if allAddresses(ip) {
		return ""
	}
	return ip
}

// indexContainer adds (or removes) one container's names, ID, labels and
// ports at slot i.
func (s *Snapshot) indexContainer(i int32, c *Container, add bool) {
	op, delta := postings.remove, int32(-1)
	if add {
		op, delta = postings.add, 1
	}
	s.countKeys(i, c, delta)
	for _, name := range c.Names {
		if add {
			s.cnames.add(name, i)
		} else {
			s.cnames.remove(name, i)
		}
	}
	if add {
		s.cids.add(c.ID, i)
	} else {
		s.cids.remove(c.ID, i)
	}
	if len(c.ID) >= minIDPrefix {
		op(s.cidPrefix, c.ID[:minIDPrefix], i)
	}
	for k, v := range c.Labels {
		ci := s.clabels[k]
		if ci == nil {
			if !add {
				continue
			}
			ci = &clabelIndex{vals: postings{}}
			s.clabels[k] = ci
		}
		op(ci.vals, v, i)
		if !add {
			ci.allHave.remove(i)
		}
	}
	for _, p := range c.Ports {
		key := portKey{p.HostPort, p.Proto}
		if c.NetworkMode == "host" {
			s.hostPort(key, i, add)
		}
		pi := s.ports[key]
		if pi == nil {
			if !add {
				continue
			}
			pi = &portIndex{byIP: postings{}}
			s.ports[key] = pi
		}
		ip := normalIP(p.HostIP)
		if add {
			pi.any.add(i)
		} else {
			pi.any.remove(i)
		}
		op(pi.byIP, ip, i)
		if pi.any.n == 0 {
			delete(s.ports, key)
		}
	}
}

func (s *Snapshot) hostPort(key portKey, i int32, add bool) {
	hp := s.hostPorts[key]
	if hp == nil {
		if !add {
			return
		}
		hp = &posting{}
		s.hostPorts[key] = hp
	}
	if add {
		hp.add(i)
		return
	}
	hp.remove(i)
	if hp.n == 0 {
		delete(s.hostPorts, key)
	}
}
