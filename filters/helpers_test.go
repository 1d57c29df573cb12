package filters

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

// passing runs f alone through its per-node Check and through its
// index-based Narrow, requires both to agree on the nodes and reasons,
// and returns the names of the nodes that pass and the reasons per
// refused node name.
func passing(t *testing.T, f scheduler.Filter, req *scheduler.Request, nodes ...*scheduler.Node) ([]string, map[string]string) {
	t.Helper()
	q, err := scheduler.ParseRequest(req)
	require.NoError(t, err)
	var want []string
	reasons := map[string]string{}
	counts := map[string]int{}
	for _, n := range nodes {
		if ok, reason := f.Check(q, n); ok {
			want = append(want, n.Name)
		} else {
			reasons[n.Name] = reason
			counts[reason]++
		}
	}
	got, d, err := scheduler.New(scheduler.Config{Filters: []scheduler.Filter{f}}).
		Feasible(schedtest.Snapshot(nodes...), req)
	require.NoError(t, err)
	var gotNames []string
	for _, n := range got {
		gotNames = append(gotNames, n.Name)
	}
	sort.Strings(want)
	sort.Strings(gotNames)
	require.Equal(t, want, gotNames, "Check and Narrow disagree on the nodes")
	gotCounts := map[string]int{}
	for _, e := range d.Exclusions {
		assert.Equal(t, f.Name(), e.Filter)
		gotCounts[e.Reason] += e.Nodes
	}
	require.Equal(t, counts, gotCounts, "Check and Narrow disagree on the reasons")
	return want, reasons
}

func env(exprs ...string) *scheduler.Request { return &scheduler.Request{Env: exprs} }

func node(name string) *schedtest.NodeBuilder { return schedtest.Node(name) }

func ctr(name string) *schedtest.ContainerBuilder { return schedtest.Container(name) }
