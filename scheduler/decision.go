package scheduler

import (
	"fmt"
	"strings"
)

// The classic texts scripts grep for.
const (
	// NoNodeMessage starts the explanation when the filters exclude
	// every node.
	NoNodeMessage = "Unable to find a node that satisfies the following conditions"
	// NoResourcesMessage starts the explanation when nodes pass the
	// filters but none has room for the reservation.
	NoResourcesMessage = "no resources available to schedule container"
)

// resourcesFilter names the reservation check in explanations.
const resourcesFilter = "resources"

// Decision is the outcome of one Schedule call. A nil Node means nothing
// fits; Explain says why.
type Decision struct {
	// Node is the chosen node, or nil.
	Node *Node
	// Version is the snapshot version the decision was made on.
	Version uint64
	// Nodes is how many nodes the snapshot held.
	Nodes int
	// Feasible is how many nodes passed every hard filter and fit.
	Feasible int
	// Exclusions count, per filter and condition in filter order, the
	// nodes each excluded. The reservation check reports as "resources".
	Exclusions []Exclusion
	// NoResources is set when nodes passed the filters but none fit the
	// reservation.
	NoResources bool
	// IgnoredSoft lists the soft expressions dropped because nothing fit
	// with them.
	IgnoredSoft []string
}

// Explain returns the message for users: for a no-fit, the classic first
// line, one "[condition]" line per failing condition, then how many nodes
// each condition excluded.
func (d Decision) Explain() string {
	var b strings.Builder
	if d.Node != nil {
		fmt.Fprintf(&b, "placed on %s: %d of %d nodes feasible", d.Node.Name, d.Feasible, d.Nodes)
		for _, s := range d.IgnoredSoft {
			fmt.Fprintf(&b, "\nignored soft expression %s: no node satisfied it", s)
		}
		return b.String()
	}
	if d.NoResources {
		b.WriteString(NoResourcesMessage)
	} else {
		b.WriteString(NoNodeMessage)
	}
	if d.Nodes == 0 {
		b.WriteString("\n[at least one node in the cluster]\nthe cluster has no nodes")
		return b.String()
	}
	for _, e := range d.Exclusions {
		fmt.Fprintf(&b, "\n[%s]", e.Reason)
	}
	for _, e := range d.Exclusions {
		// "constraint model==gpu excluded …", but "port 80 (Bridge mode)
		// excluded …" rather than repeating the filter's name.
		who := e.Filter + " " + e.Reason
		if strings.HasPrefix(e.Reason, e.Filter+" ") {
			who = e.Reason
		}
		fmt.Fprintf(&b, "\n%s excluded %d of %d nodes", who, e.Nodes, d.Nodes)
	}
	return b.String()
}

// Err returns nil when a node was chosen and a *NoFitError otherwise, for
// callers that report a no-fit as an error.
func (d Decision) Err() error {
	if d.Node != nil {
		return nil
	}
	return &NoFitError{Decision: d}
}

// NoFitError reports that no node can run a request. It is a result of
// scheduling, not a user error in the request: classic Swarm answers it
// with HTTP 500 and the explanation as the message.
type NoFitError struct {
	Decision Decision
}

// Error returns the explanation.
func (e *NoFitError) Error() string { return e.Decision.Explain() }

// resourceCondition phrases a reservation for explanations.
func resourceCondition(nanoCPUs, memory int64) string {
	var parts []string
	if nanoCPUs > 0 {
		parts = append(parts, fmt.Sprintf("cpus=%g", float64(nanoCPUs)/1e9))
	}
	if memory > 0 {
		parts = append(parts, "memory="+formatBytes(memory))
	}
	return strings.Join(parts, " ")
}

func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return fmt.Sprintf("%.4g%s", f, units[u])
}
