package filters

import "github.com/swarmlab/swarm/scheduler"

// reasonSlots is the classic condition text of the containerslots filter.
const reasonSlots = "available container slots"

// ContainerSlots honours the engine label containerslots=N: a node holds
// at most N containers, counting every state and in-flight ones. A value
// that is not a non-negative integer means no cap.
type ContainerSlots struct{}

// Name implements scheduler.Filter.
func (ContainerSlots) Name() string { return "containerslots" }

// Check implements scheduler.Filter.
func (ContainerSlots) Check(_ *scheduler.Query, n *scheduler.Node) (bool, string) {
	if scheduler.SlotsFull(n) {
		return false, reasonSlots
	}
	return true, ""
}

// Narrow implements scheduler.Narrower.
func (ContainerSlots) Narrow(_ *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	c.Drop(snap.FullNodes(), reasonSlots)
}
