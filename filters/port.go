package filters

import "github.com/swarmlab/swarm/scheduler"

// Port keeps the nodes where every fixed host port the request claims is
// free. In bridge mode a claim conflicts with any container on the node,
// in any state, binding the same port and protocol on the same address
// or where either side binds all addresses; random host ports (-p 80, -P)
// claim nothing. In host mode the exposed ports conflict with host-mode
// containers using the same port and protocol.
type Port struct{}

// Name implements scheduler.Filter.
func (Port) Name() string { return "port" }

// Check implements scheduler.Filter.
func (Port) Check(q *scheduler.Query, n *scheduler.Node) (bool, string) {
	for _, p := range q.Ports {
		if scheduler.BindsPort(n, p) {
			return false, scheduler.BridgeCondition(p)
		}
	}
	for _, p := range q.HostPorts {
		if scheduler.BindsHostPort(n, p) {
			return false, scheduler.HostCondition(p)
		}
	}
	return true, ""
}

// Narrow implements scheduler.Narrower.
func (Port) Narrow(q *scheduler.Query, snap *scheduler.Snapshot, c *scheduler.Candidates) {
	for _, p := range q.Ports {
		set := c.Scratch()
		snap.NodesBindingPort(set, p)
		c.Drop(set, scheduler.BridgeCondition(p))
	}
	for _, p := range q.HostPorts {
		set := c.Scratch()
		snap.NodesBindingHostPort(set, p)
		c.Drop(set, scheduler.HostCondition(p))
	}
}
