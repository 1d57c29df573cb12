package cluster

// HasCreateBody reports whether the cluster knows how to create container
// id again on node failure (for tests).
func (c *Cluster) HasCreateBody(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.bodies[id]
	return ok
}
