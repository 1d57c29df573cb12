package cluster

import "github.com/docker/docker/api/types/container"

// nodeCounts are one node's container totals as `docker info` shows them.
// They are kept up to date as the node's cache changes — the only writers
// of node.entries (setContainerLocked, deleteContainerLocked,
// resetNodeLocked) call track — so a node view costs the same at 30
// containers per node as at 30,000: recounting every container for each
// view made /info walk all of them, several times per call.
//
// Contract: an entry is never modified once cached; a change stores a new
// entry. A cached entry changed in place would leave the totals stale.
type nodeCounts struct {
	containers, running, paused, stopped int
	// nanoCPUs and memory are reserved by every cached container,
	// in-flight creates included.
	nanoCPUs, memory int64
}

// track moves the totals from old to e, either of which may be nil: old
// is the entry being replaced or removed, e the one being cached.
func (k *nodeCounts) track(old, e *entry) {
	if old != nil {
		k.add(old, -1)
	}
	if e != nil {
		k.add(e, 1)
	}
}

func (k *nodeCounts) add(e *entry, sign int) {
	k.nanoCPUs += int64(sign) * e.sched.NanoCPUs
	k.memory += int64(sign) * e.sched.Memory
	if e.reservation {
		return
	}
	k.containers += sign
	switch container.ContainerState(e.sched.State) {
	case container.StateRunning, container.StateRestarting:
		k.running += sign
	case container.StatePaused:
		k.paused += sign
	default:
		k.stopped += sign
	}
}

// countContainers is the reference the kept totals must equal: a walk of
// every cached container.
func countContainers(n *node) nodeCounts {
	var k nodeCounts
	for _, e := range n.entries {
		k.add(e, 1)
	}
	return k
}
