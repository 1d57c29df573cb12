package cluster_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
)

// A container with the on-node-failure policy is created again, with its
// name and configuration, on another node when its node fails, and started
// since it was running; a container without the policy stays where it
// was. When the failed node comes back, the original is removed from it.
func TestRescheduleOnNodeFailure(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	ctx := context.Background()
	mover := run("mover", "busybox")
	mover.Config.Env = []string{"reschedule:on-node-failure", "A=1"}
	mover.Config.Labels = map[string]string{"app": "web"}
	c, err := l.c.CreateContainer(ctx, mover)
	require.NoError(t, err)
	from := c.Node
	stayer := run("stayer", "busybox")
	stayer.Config.Env = []string{"constraint:node==" + from.Name}
	_, err = l.c.CreateContainer(ctx, stayer)
	require.NoError(t, err)
	// The policy, but a constraint no other node meets: its copy cannot
	// be placed, so it stays, and is listed again when its node is back.
	pinned := run("pinned", "busybox")
	pinned.Config.Env = []string{"reschedule:on-node-failure", "constraint:node==" + from.Name}
	pc, err := l.c.CreateContainer(ctx, pinned)
	require.NoError(t, err)

	eng, err := engine.Dial(from.Addr, engine.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer eng.Close()
	require.NoError(t, eng.StartContainer(ctx, c.Summary.ID))
	require.Eventually(t, func() bool {
		got, err := l.c.Container("mover")
		return err == nil && got.Summary.State == "running"
	}, 5*time.Second, 10*time.Millisecond)
	in, err := eng.InspectContainer(ctx, c.Summary.ID)
	require.NoError(t, err)
	assert.Equal(t, `["on-node-failure"]`, in.Config.Labels["com.docker.swarm.reschedule-policies"], "the policy moved into its label")

	assert.True(t, l.c.HasCreateBody(c.Summary.ID), "kept from the create: a failed node cannot be asked")

	var victim int
	for i, e := range l.engines {
		if e.Addr() == from.Addr {
			victim = i
		}
	}
	// One with the policy's label that the manager did not create: its
	// configuration is read from the engine as soon as it is seen.
	outsider, err := l.engines[victim].RunOutside("outsider", "busybox",
		map[string]string{"com.docker.swarm.reschedule-policies": `["on-node-failure"]`})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return l.c.HasCreateBody(outsider) }, 5*time.Second, 10*time.Millisecond)
	l.engines[victim].Stop()

	var moved cluster.Container
	require.Eventually(t, func() bool {
		moved, err = l.c.Container("mover")
		return err == nil && moved.Node.Addr != from.Addr && moved.Summary.State == "running"
	}, 10*time.Second, 20*time.Millisecond, "created again and started on the other node")
	assert.NotEqual(t, c.Summary.ID, moved.Summary.ID)
	assert.Equal(t, "web", moved.Summary.Labels["app"], "with its configuration")
	assert.Equal(t, `["on-node-failure"]`, moved.Summary.Labels["com.docker.swarm.reschedule-policies"], "and its policy, for the next failure")
	_, err = l.c.Container(c.Summary.ID)
	assert.Error(t, err, "the original is forgotten")
	require.Eventually(t, func() bool {
		got, err := l.c.Container("outsider")
		return err == nil && got.Node.Addr != from.Addr && got.Summary.State == "running"
	}, 10*time.Second, 20*time.Millisecond, "the outsider too")
	kept, err := l.c.Container("stayer")
	require.NoError(t, err)
	assert.Equal(t, from.Addr, kept.Node.Addr, "no policy: it stays on its node")

	require.NoError(t, l.engines[victim].Restart())
	l.waitHealthy(2)
	require.Eventually(t, func() bool {
		_, err1 := l.engines[victim].Container(c.Summary.ID)
		_, err2 := l.engines[victim].Container(outsider)
		return err1 != nil && err2 != nil
	}, 10*time.Second, 20*time.Millisecond, "the originals are removed from the node that came back")
	_, err = l.engines[victim].Container("stayer")
	assert.NoError(t, err, "a container without the policy is kept")
	_, err = l.engines[victim].Container(pc.Summary.ID)
	assert.NoError(t, err, "a container whose copy could not be placed is kept")
	require.Eventually(t, func() bool {
		got, err := l.c.Container("pinned")
		return err == nil && got.Summary.ID == pc.Summary.ID && got.Node.Addr == from.Addr
	}, 5*time.Second, 20*time.Millisecond, "and listed on its node again")
	require.Eventually(t, func() bool {
		var movers []string
		for _, ct := range l.c.Containers() {
			if slices.Contains(ct.Summary.Names, "/mover") {
				movers = append(movers, ct.Summary.ID)
			}
		}
		return slices.Equal(movers, []string{moved.Summary.ID})
	}, 5*time.Second, 20*time.Millisecond, "one mover in the cluster: %v", l.c.Containers())
}

// Bad policies are refused with what was wrong.
func TestReschedulePolicyRefusals(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1})
	for _, tc := range []struct {
		env    []string
		labels map[string]string
		want   string
	}{
		{[]string{"reschedule:sometimes"}, nil, `unknown rescheduling policy "sometimes"`},
		{[]string{"reschedule:off", "reschedule:on-node-failure"}, nil, "contradict"},
		{nil, map[string]string{"com.docker.swarm.reschedule-policies": "on-node-failure"}, "want a JSON array"},
		{nil, map[string]string{"com.docker.swarm.reschedule-policies": `["always"]`}, `unknown policy "always"`},
	} {
		req := run("", "busybox")
		req.Config.Env, req.Config.Labels = tc.env, tc.labels
		_, err := l.c.CreateContainer(context.Background(), req)
		require.Error(t, err, "%v %v", tc.env, tc.labels)
		assert.ErrorIs(t, err, cluster.ErrInvalidRequest)
		assert.Contains(t, err.Error(), tc.want)
	}
	assert.Empty(t, l.c.Containers(), "nothing was created")
}

// A node that discovery loses (its join agent is gone) has failed too:
// its containers with the policy move, created (not started: they were
// not running), and the originals go once the agent is back.
func TestRescheduleWhenDiscoveryLosesTheNode(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	mover := run("mover", "busybox")
	mover.Config.Labels = map[string]string{"com.docker.swarm.reschedule-policies": `["on-node-failure"]`}
	c, err := l.c.CreateContainer(context.Background(), mover)
	require.NoError(t, err)
	lost, other := 0, 1
	if l.engines[1].Addr() == c.Node.Addr {
		lost, other = 1, 0
	}
	l.c.SetMembership([]string{l.engines[other].Addr()}, []string{l.engines[lost].Addr()})
	require.Eventually(t, func() bool {
		got, err := l.c.Container("mover")
		return err == nil && got.Node.Addr == l.engines[other].Addr() && got.Summary.State == "created"
	}, 10*time.Second, 20*time.Millisecond, "created again on the other node, not started")

	l.c.SetMembership([]string{l.engines[0].Addr(), l.engines[1].Addr()}, nil)
	require.Eventually(t, func() bool {
		_, err := l.engines[lost].Container(c.Summary.ID)
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "the original is removed once the node is back")
}

// A container on a network only its node has cannot be created elsewhere:
// the other engine refuses the copy, and the original is kept and listed
// again when its node is back.
func TestRescheduleKeepsWhatCannotMove(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	ctx := context.Background()
	resp, err := http.Post("http://"+l.engines[0].Addr()+"/v1.41/networks/create", "application/json",
		strings.NewReader(`{"Name":"onlyhere"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	eng, err := engine.Dial(l.engines[0].Addr(), engine.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer eng.Close()
	id, _, err := eng.CreateContainer(ctx, "netted", &container.Config{Image: "busybox",
		Labels: map[string]string{"com.docker.swarm.reschedule-policies": `["on-node-failure"]`}},
		&container.HostConfig{NetworkMode: "onlyhere"}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return l.c.HasCreateBody(id) }, 5*time.Second, 10*time.Millisecond)

	l.engines[0].Stop()
	require.Eventually(t, func() bool { return l.healthy() == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, l.engines[0].Restart())
	l.waitHealthy(2)
	require.Eventually(t, func() bool {
		got, err := l.c.Container("netted")
		return err == nil && got.Summary.ID == id
	}, 5*time.Second, 10*time.Millisecond, "kept and listed on its node again")
	_, err = l.engines[0].Container(id)
	assert.NoError(t, err, "still on its engine")
	assert.Empty(t, l.engines[1].Containers(), "no copy on the other node")
}
