package cluster_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
)

// post sends a raw request through an Endpoint, as the API forwards.
func post(t *testing.T, ep cluster.Endpoint, path, body string) {
	t.Helper()
	resp, err := ep.Client.Post(ep.URL+"/v"+ep.APIVersion+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "POST %s: %s", path, resp.Status)
}

func TestForwardedChangesAreReadAfterRefresh(t *testing.T) {
	l := newLab(t, labOptions{nodes: 2})
	ctx := context.Background()
	c, err := l.c.CreateContainer(ctx, run("svc", "busybox"))
	require.NoError(t, err)
	assert.Equal(t, container.StateCreated, c.Summary.State)

	ep, err := l.c.Endpoint(c.Node.ID)
	require.NoError(t, err)
	post(t, ep, "/containers/"+c.Summary.ID+"/start", "")
	require.NoError(t, l.c.Refresh(ctx, c.Node.ID, c.Summary.ID))
	got, err := l.c.Container("svc")
	require.NoError(t, err)
	assert.Equal(t, container.StateRunning, got.Summary.State, "right at once, not eventually")

	post(t, ep, "/networks/create", `{"Name":"backend","Driver":"bridge"}`)
	require.NoError(t, l.c.RefreshNode(ctx, c.Node.Name, "networks"))
	var names []string
	for _, n := range l.c.Networks() {
		if n.Node.ID == c.Node.ID {
			names = append(names, n.Summary.Name)
		}
	}
	assert.Contains(t, names, "backend")

	assert.ErrorContains(t, l.c.RefreshNode(ctx, c.Node.ID, "bogus"), "want images, networks, volumes or containers")
	assert.ErrorIs(t, l.c.Refresh(ctx, "no-such-node", c.Summary.ID), cluster.ErrNotFound)

	// A container removed behind the cache's back disappears on Refresh.
	require.NoError(t, l.outside(nodeIndex(l, c.Node.Name)).RemoveContainer(ctx, c.Summary.ID, true, false))
	require.NoError(t, l.c.Refresh(ctx, c.Node.ID, c.Summary.ID))
	_, err = l.c.Container("svc")
	assert.ErrorIs(t, err, cluster.ErrNotFound)
}

func nodeIndex(l *lab, name string) int {
	for i := range l.engines {
		if l.node(i).Name == name {
			return i
		}
	}
	l.t.Fatalf("no node %s", name)
	return -1
}

func TestEndpointUsesNegotiatedVersion(t *testing.T) {
	l := newLab(t, labOptions{nodes: 1})
	ep, err := l.c.Endpoint(l.node(0).Name)
	require.NoError(t, err)
	resp, err := ep.Client.Get(ep.URL + "/v" + ep.APIVersion + "/version")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
