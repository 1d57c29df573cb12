package scheduler

import "strings"

// This file holds the per-node meaning of every expression key. The
// snapshot's indexes (lookup.go) must answer exactly the same; the tests
// compare the two on random clusters.

// minIDPrefix is the shortest container ID prefix that names a container,
// as git abbreviates hashes; shorter literals match names only.
const minIDPrefix = 4

// MatchNodeName reports whether the pattern matches the node's name or ID
// (the key "node").
func (e *Expr) MatchNodeName(n *Node) bool {
	return e.Match(n.Name) || e.Match(n.ID)
}

// MatchNodeLabel reports whether the pattern matches the node's label
// e.Key; a missing label matches as the empty string.
func (e *Expr) MatchNodeLabel(n *Node) bool {
	return e.Match(n.Labels[e.Key])
}

// MatchContainer reports whether the pattern matches one of the
// container's names, its ID, or (for a literal of at least four
// characters) a prefix of its ID.
func (e *Expr) MatchContainer(c *Container) bool {
	if e.Match(c.ID) {
		return true
	}
	for _, name := range c.Names {
		if e.Match(name) {
			return true
		}
	}
	if e.re != nil {
		return false
	}
	for _, g := range e.alts {
		if g.literal() && isIDPrefix(g.lit, c.ID) {
			return true
		}
	}
	return false
}

// isIDPrefix reports whether ref is a long enough prefix of id.
func isIDPrefix(ref, id string) bool {
	return len(ref) >= minIDPrefix && strings.HasPrefix(id, ref)
}

// MatchContainers reports whether any container on the node matches.
func (e *Expr) MatchContainers(n *Node) bool {
	for _, c := range n.Containers {
		if e.MatchContainer(c) {
			return true
		}
	}
	return false
}

// MatchContainerLabels reports whether any container on the node has the
// label e.Key matching the pattern; a container without that label
// offers the empty string. A node without containers offers nothing.
func (e *Expr) MatchContainerLabels(n *Node) bool {
	for _, c := range n.Containers {
		if e.Match(c.Labels[e.Key]) {
			return true
		}
	}
	return false
}

// imageRefs lists the names an image answers to: its ID with and without
// the "sha256:" prefix and as a 12-character short ID, its tags, each
// tag's repository name ("redis" for "redis:7", "localhost:5000/app" for
// "localhost:5000/app:1"), and its digests.
func imageRefs(img *Image, add func(string)) {
	if img.ID != "" {
		add(img.ID)
		hex := strings.TrimPrefix(img.ID, "sha256:")
		if hex != img.ID {
			add(hex)
		}
		if len(hex) > 12 {
			add(hex[:12])
		}
	}
	for _, t := range img.RepoTags {
		add(t)
		if repo := repoName(t); repo != t {
			add(repo)
		}
	}
	for _, d := range img.RepoDigests {
		add(d)
	}
}

// repoName strips the tag from a reference: the last ':' after the last
// '/' starts the tag, so a registry port is kept.
func repoName(ref string) string {
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i]
	}
	return ref
}

// MatchImages reports whether any image on the node answers to the
// pattern (see imageRefs for the names an image answers to).
func (e *Expr) MatchImages(n *Node) bool {
	found := false
	for _, img := range n.Images {
		imageRefs(img, func(ref string) {
			if !found && e.Match(ref) {
				found = true
			}
		})
		if found {
			return true
		}
	}
	return false
}

// HoldsContainer reports whether the node holds the container ref names:
// by exact name, full ID or an ID prefix of at least four characters.
// Containers in every state count, including in-flight ones.
func HoldsContainer(n *Node, ref string) bool {
	for _, c := range n.Containers {
		if c.ID == ref || isIDPrefix(ref, c.ID) {
			return true
		}
		for _, name := range c.Names {
			if name == ref {
				return true
			}
		}
	}
	return false
}

// allAddresses reports whether a host IP means every address.
func allAddresses(ip string) bool {
	return ip == "" || ip == "0.0.0.0" || ip == "::"
}

// PortConflict reports whether a container binding have blocks a request
// for want: same port and protocol on the same address or where either
// side binds all addresses.
func PortConflict(have, want Port) bool {
	if have.HostPort != want.HostPort || have.Proto != want.Proto {
		return false
	}
	return allAddresses(have.HostIP) || allAddresses(want.HostIP) || have.HostIP == want.HostIP
}

// BindsPort reports whether any container on the node, in any state,
// binds a port that conflicts with want (bridge mode).
func BindsPort(n *Node, want Port) bool {
	for _, c := range n.Containers {
		for _, p := range c.Ports {
			if PortConflict(p, want) {
				return true
			}
		}
	}
	return false
}

// BindsHostPort reports whether a host-mode container on the node uses
// the port and protocol of want.
func BindsHostPort(n *Node, want Port) bool {
	for _, c := range n.Containers {
		if c.NetworkMode != "host" {
			continue
		}
		for _, p := range c.Ports {
			if p.HostPort == want.HostPort && p.Proto == want.Proto {
				return true
			}
		}
	}
	return false
}

// SlotsFull reports whether the node's containerslots label caps it and
// one more container would exceed the cap. A value that is not a
// non-negative integer means no cap.
func SlotsFull(n *Node) bool {
	limit, ok := slotLimit(n)
	return ok && len(n.Containers) >= limit
}

func slotLimit(n *Node) (int, bool) {
	v, ok := n.Labels[LabelContainerSlots]
	if !ok || v == "" {
		return 0, false
	}
	limit := 0
	for _, r := range v {
		if r < '0' || r > '9' || limit > 1<<30 {
			return 0, false
		}
		limit = limit*10 + int(r-'0')
	}
	return limit, true
}

// LabelContainerSlots is the engine label that caps a node's containers.
const LabelContainerSlots = "containerslots"
