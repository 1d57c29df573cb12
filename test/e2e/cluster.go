package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
)

// NodeStatus is one node of the manager's `docker info` block, read back from SystemStatus.
type NodeStatus struct {
	Name, Addr, ID, Status string
	Labels                 map[string]string
	Error                  string
}

// ClusterInfo is the swarm part of `docker info` through the manager.
type ClusterInfo struct {
	Strategy string
	Filters  []string
	Nodes    []NodeStatus // in the order the manager listed them
	declared string       // the "Nodes" value as printed
}

// ParseSystemStatus reads the classic swarm block from SystemStatus pairs: "Strategy",
// "Filters", "Nodes", then per node " NAME" = ADDR followed by "  └ KEY" = VALUE pairs.
func ParseSystemStatus(pairs [][2]string) (ClusterInfo, error) {
	var ci ClusterInfo
	var cur *NodeStatus
	for _, kv := range pairs {
		key, val := kv[0], kv[1]
		switch {
		case key == "Strategy":
			ci.Strategy = val
		case key == "Filters":
			for _, f := range strings.Split(val, ",") {
				ci.Filters = append(ci.Filters, strings.TrimSpace(f))
			}
		case key == "Nodes":
			ci.declared = val
		case strings.Contains(key, "└"):
			if cur == nil {
				return ci, fmt.Errorf("node detail %q before any node line", key)
			}
			_, field, _ := strings.Cut(key, "└")
			switch strings.TrimSpace(field) {
			case "ID":
				cur.ID = val
			case "Status":
				cur.Status = val
			case "Error":
				cur.Error = val
			case "Labels":
				for _, l := range strings.Split(val, ",") {
					if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
						cur.Labels[k] = v
					}
				}
			}
		case strings.HasPrefix(key, " "):
			ci.Nodes = append(ci.Nodes, NodeStatus{Name: strings.TrimSpace(key), Addr: val, Labels: map[string]string{}})
			cur = &ci.Nodes[len(ci.Nodes)-1]
		}
	}
	if fmt.Sprint(len(ci.Nodes)) != ci.declared {
		return ci, fmt.Errorf("Nodes: %q but %d node blocks", ci.declared, len(ci.Nodes))
	}
	return ci, nil
}

// Node returns the named node's status, or ok=false.
func (ci ClusterInfo) Node(name string) (NodeStatus, bool) {
	for _, n := range ci.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return NodeStatus{}, false
}

// Healthy lists the names of the healthy nodes, sorted.
func (ci ClusterInfo) Healthy() []string {
	var names []string
	for _, n := range ci.Nodes {
		if n.Status == "Healthy" {
			names = append(names, n.Name)
		}
	}
	sort.Strings(names)
	return names
}

// ReadCluster asks the manager for `docker info` through the SDK and parses its swarm block.
func ReadCluster(ctx context.Context, c *client.Client) (ClusterInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := c.Info(ctx)
	if err != nil {
		return ClusterInfo{}, fmt.Errorf("docker info through the manager: %w", err)
	}
	return ParseSystemStatus(info.SystemStatus)
}

// WaitAllHealthy waits until the manager shows every lab engine Healthy; tests that stop or
// freeze an engine leave it restarted, and the manager notices within a refresh or two.
func WaitAllHealthy(t testing.TB, lab *Lab, m *Manager) {
	t.Helper()
	c := Client(t, m.Host())
	var last string
	ok := assert.Eventually(t, func() bool {
		ci, err := ReadCluster(context.Background(), c)
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("healthy: %v", ci.Healthy())
		return len(ci.Healthy()) == len(lab.Engines)
	}, 30*time.Second, 200*time.Millisecond)
	if !ok {
		t.Fatalf("the manager does not show all %d engines healthy (%s); log:\n%s", len(lab.Engines), last, m.LogTail(20))
	}
}

// NodeOf is the node a container runs on, per `docker inspect` through the manager.
func NodeOf(t testing.TB, m *Manager, name string) string {
	t.Helper()
	return strings.TrimSpace(Docker(t, m.Host(), "inspect", "--type", "container", "-f", "{{.Node.Name}}", name))
}

// EngineContainers lists every container ID on each engine, asked directly (not through the
// manager), keyed by node name.
func EngineContainers(t testing.TB, lab *Lab) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, e := range lab.Engines {
		ids := strings.Fields(Docker(t, e.Host(), "ps", "-aq", "--no-trunc"))
		sort.Strings(ids)
		out[e.Name] = ids
	}
	return out
}
