package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/scheduler"
)

// heartbeatsAfter waits until engine i answered two more version calls than
// base: the heartbeat of the first of them completed, with whatever the
// cluster knew when base was read.
func (l *lab) heartbeatsAfter(i, base int) {
	l.t.Helper()
	require.Eventually(l.t, func() bool { return l.engines[i].Calls("GET /version") >= base+2 }, 5*time.Second, 5*time.Millisecond)
}

func TestLostNodeIsUnhealthyKeepsItsContainersAndComesBack(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	l.runOutside(1, "on-lost-node")
	require.Eventually(t, func() bool { _, err := l.c.Container("on-lost-node"); return err == nil }, 5*time.Second, 5*time.Millisecond)
	_, sub := l.c.Subscribe(time.Time{})
	defer sub.Close()

	l.c.SetMembership([]string{l.engines[0].Addr()}, []string{l.engines[1].Addr()})
	// At once, not at the next heartbeat.
	n := l.node(1)
	assert.Equal(t, scheduler.NodeUnhealthy, n.State)
	assert.Contains(t, n.Err, "join agent advertising "+l.engines[1].Addr()+" is gone")
	var got []cluster.Event
	collect(t, sub, &got, func(evs []cluster.Event) bool {
		return countAction(evs, cluster.EngineEventType, cluster.ActionEngineDisconnect) == 1
	})
	assert.Equal(t, scheduler.NodeUnhealthy, got[len(got)-1].Node.State)

	c, err := l.c.Container("on-lost-node")
	require.NoError(t, err, "a lost node's containers stay listed")
	assert.Equal(t, scheduler.NodeUnhealthy, c.Node.State)

	// Its engine still answers; that must not bring it back.
	l.heartbeatsAfter(1, l.engines[1].Calls("GET /version"))
	assert.Equal(t, scheduler.NodeUnhealthy, l.node(1).State)
	for i := range 4 {
		created, err := l.c.CreateContainer(context.Background(), run("placed-"+string(rune('a'+i)), "busybox"))
		require.NoError(t, err)
		assert.Equal(t, "node0", created.Node.Name, "nothing is placed on a lost node")
	}

	l.c.SetMembership([]string{l.engines[0].Addr(), l.engines[1].Addr()}, nil)
	collect(t, sub, &got, func(evs []cluster.Event) bool {
		return countAction(evs, cluster.EngineEventType, cluster.ActionEngineReconnect) == 1
	})
	n = l.node(1)
	assert.Equal(t, scheduler.NodeHealthy, n.State)
	assert.Empty(t, n.Err)
	_, err = l.c.Container("on-lost-node")
	assert.NoError(t, err)
}

func TestSetMembershipLists(t *testing.T) {
	tests := []struct {
		name string
		// up and down index the lab's engines; -1 is an unknown address.
		up, down    []int
		wantStates  []scheduler.NodeState // by engine, for the nodes kept
		wantNodes   int
		wantLostErr bool
	}{
		{name: "unknown down address ignored", up: []int{0, 1}, down: []int{-1},
			wantNodes: 2, wantStates: []scheduler.NodeState{scheduler.NodeHealthy, scheduler.NodeHealthy}},
		{name: "in both lists counts as up", up: []int{0, 1}, down: []int{1},
			wantNodes: 2, wantStates: []scheduler.NodeState{scheduler.NodeHealthy, scheduler.NodeHealthy}},
		{name: "down keeps the node unhealthy", up: []int{0}, down: []int{1},
			wantNodes: 2, wantStates: []scheduler.NodeState{scheduler.NodeHealthy, scheduler.NodeUnhealthy}, wantLostErr: true},
		{name: "in neither list removes the node", up: []int{0}, down: nil,
			wantNodes: 1, wantStates: []scheduler.NodeState{scheduler.NodeHealthy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t, labOptions{nodes: 2})
			addr := func(i int) string {
				if i < 0 {
					return "192.0.2.1:2375"
				}
				return l.engines[i].Addr()
			}
			var up, down []string
			for _, i := range tt.up {
				up = append(up, addr(i))
			}
			for _, i := range tt.down {
				down = append(down, addr(i))
			}
			l.c.SetMembership(up, down)
			nodes := l.c.Nodes()
			require.Len(t, nodes, tt.wantNodes)
			for i, want := range tt.wantStates {
				assert.Equal(t, want, l.node(i).State, "engine %d", i)
			}
			if tt.wantLostErr {
				assert.Contains(t, l.node(1).Err, "join agent")
			}
		})
	}
}

func TestNodeLostBeforeItWasValidatedTurnsHealthyWhenBack(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2, pending: true})
	l.c.SetMembership([]string{l.engines[0].Addr()}, []string{l.engines[1].Addr()})
	// Whether its first listing completes before or after the loss, a lost
	// node must not turn healthy while it is lost.
	require.Eventually(t, func() bool { return l.engines[1].EventStreams() > 0 }, 5*time.Second, 5*time.Millisecond)
	l.heartbeatsAfter(1, l.engines[1].Calls("GET /version"))
	assert.NotEqual(t, scheduler.NodeHealthy, l.node(1).State)
	assert.Contains(t, l.node(1).Err, "join agent")

	l.c.SetMembership([]string{l.engines[0].Addr(), l.engines[1].Addr()}, nil)
	l.waitHealthy(2)
}
