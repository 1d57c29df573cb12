package scheduler_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

func withEnv(exprs ...string) *scheduler.Request { return &scheduler.Request{Env: exprs} }

// blogCluster is the cluster of "Simple Clustering with Docker Swarm and
// Nginx".
func blogCluster() []*scheduler.Node {
	return []*scheduler.Node{
		node("swarm-master").Label("public", "no").Label("provider", "virtualbox").Label("storagedriver", "aufs").Build(),
		node("frontend").Label("public", "yes").Label("provider", "virtualbox").Label("storagedriver", "aufs").Build(),
		node("backend1").Label("public", "no").Label("model", "high-memory").Label("storagedriver", "aufs").Build(),
		node("backend2").Label("public", "no").Label("model", "large-disk").Label("storagedriver", "aufs").Build(),
	}
}

func TestExplainConstraint(t *testing.T) {
	_, d := place(t, scheduler.Spread, withEnv("constraint:model==gpu"), blogCluster()...)
	require.Nil(t, d.Node)
	assert.Equal(t, "Unable to find a node that satisfies the following conditions\n"+
		"[model==gpu]\n"+
		"constraint model==gpu excluded 4 of 4 nodes", d.Explain())

	err := d.Err()
	var nf *scheduler.NoFitError
	require.True(t, errors.As(err, &nf))
	assert.Equal(t, d.Explain(), err.Error())
}

func TestExplainSeveralFilters(t *testing.T) {
	nodes := []*scheduler.Node{
		node("down").State(scheduler.NodeUnhealthy).Build(),
		node("web").Containers(ctr("nginx").Port("80").Build()).Build(),
		node("tiny").Label(scheduler.LabelContainerSlots, "1").Containers(ctr("x").Build()).Build(),
		node("other").Label("model", "cpu").Build(),
	}
	req := &scheduler.Request{Env: []string{"constraint:model==gpu"},
		PortBindings: map[string][]scheduler.PortBinding{"80/tcp": {{HostPort: "80"}}}}
	_, d := place(t, scheduler.Spread, req, nodes...)
	require.Nil(t, d.Node)
	assert.Equal(t, "Unable to find a node that satisfies the following conditions\n"+
		"[healthy node]\n"+
		"[port 80 (Bridge mode)]\n"+
		"[available container slots]\n"+
		"[model==gpu]\n"+
		"health healthy node excluded 1 of 4 nodes\n"+
		"port 80 (Bridge mode) excluded 1 of 4 nodes\n"+
		"containerslots available container slots excluded 1 of 4 nodes\n"+
		"constraint model==gpu excluded 1 of 4 nodes", d.Explain())
}

func TestExplainHostPort(t *testing.T) {
	nodes := []*scheduler.Node{node("n").Containers(ctr("a").Net("host").Port("80").Build()).Build()}
	_, d := place(t, scheduler.Spread, &scheduler.Request{NetworkMode: "host", ExposedPorts: []string{"80/tcp"}}, nodes...)
	assert.Contains(t, d.Explain(), "\n[port 80/tcp (Host mode)]\n")
}

func TestExplainNoResources(t *testing.T) {
	_, d := place(t, scheduler.Spread, &scheduler.Request{Memory: 64 * gib, Env: []string{"constraint:public==no"}}, blogCluster()...)
	require.Nil(t, d.Node)
	assert.Equal(t, "no resources available to schedule container\n"+
		"[public==no]\n"+
		"[memory=64GiB]\n"+
		"constraint public==no excluded 1 of 4 nodes\n"+
		"resources memory=64GiB excluded 3 of 4 nodes", d.Explain())
}

func TestExplainEmptyCluster(t *testing.T) {
	_, d := place(t, scheduler.Spread, &scheduler.Request{})
	require.Nil(t, d.Node)
	assert.Regexp(t, "^Unable to find a node that satisfies the following conditions\n", d.Explain())
	assert.Contains(t, d.Explain(), "no nodes")
}

func TestScheduleRejectsBadExpressions(t *testing.T) {
	s := scheduler.New(scheduler.Config{Filters: filters.Default()})
	_, err := s.Schedule(schedtest.Snapshot(blogCluster()...), withEnv("constraint:model=gpu"), nil)
	var ee *scheduler.ExprError
	require.True(t, errors.As(err, &ee))
	assert.Equal(t, "model=gpu", ee.Expr)
	assert.Contains(t, err.Error(), "bad operator")
}

func TestSoftExpressions(t *testing.T) {
	tests := []struct {
		name    string
		exprs   []string
		want    []string // acceptable nodes
		ignored []string
	}{
		{"satisfiable soft constraint is honoured", []string{"constraint:model==~large-disk"}, []string{"backend2"}, nil},
		{"unsatisfiable soft constraint is ignored", []string{"constraint:model==~gpu"},
			[]string{"swarm-master", "frontend", "backend1", "backend2"}, []string{"model==~gpu"}},
		{"soft after hard", []string{"constraint:public==yes", "constraint:model==~high-memory"}, []string{"frontend"}, []string{"model==~high-memory"}},
		{"each soft term on its own", []string{"constraint:model==~gpu", "constraint:public==~yes"}, []string{"frontend"}, []string{"model==~gpu"}},
		{"soft terms narrow in order", []string{"constraint:public==~no", "constraint:node==~frontend"},
			[]string{"swarm-master", "backend1", "backend2"}, []string{"node==~frontend"}},
		{"soft affinity", []string{"affinity:container==~nope"}, []string{"swarm-master", "frontend", "backend1", "backend2"}, []string{"container==~nope"}},
		{"soft whitelist", []string{"whitelist:node==~backend1"}, []string{"backend1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, d := place(t, scheduler.Spread, withEnv(tt.exprs...), blogCluster()...)
			assert.Contains(t, tt.want, got)
			assert.Equal(t, tt.ignored, d.IgnoredSoft)
		})
	}
}

// TestBlogWalkthrough replays "Simple Clustering with Docker Swarm and
// Nginx" and commits each placement as the cluster does.
func TestBlogWalkthrough(t *testing.T) {
	snap := schedtest.Snapshot(blogCluster()...)
	s := scheduler.New(scheduler.Config{Filters: filters.Default()})
	run := func(name string, req *scheduler.Request) scheduler.Decision {
		t.Helper()
		req.Name = name
		d, err := s.Schedule(snap, req, nil)
		require.NoError(t, err)
		if d.Node == nil {
			return d
		}
		q, err := scheduler.ParseRequest(req)
		require.NoError(t, err)
		next := *d.Node
		next.Containers = append(append([]*scheduler.Container{}, next.Containers...), &scheduler.Container{
			ID: "c0ffee" + name, Names: []string{name}, Image: req.Image, State: "creating",
			Ports: append(q.Ports, q.HostPorts...), NetworkMode: req.NetworkMode,
		})
		snap.Put(&next)
		return d
	}
	http := map[string][]scheduler.PortBinding{"80/tcp": {{HostPort: "80"}}}
	random80 := map[string][]scheduler.PortBinding{"80/tcp": {{HostPort: ""}}}

	assert.Equal(t, "backend1", run("redis", &scheduler.Request{Image: "redis",
		Env: []string{"constraint:public!=yes", "constraint:model==high-memory"}}).Node.Name)
	assert.Equal(t, "backend2", run("postgres", &scheduler.Request{Image: "postgres",
		Env: []string{"constraint:public!=yes", "constraint:model==large-disk"}}).Node.Name)
	assert.Equal(t, "frontend", run("nginx", &scheduler.Request{Image: "jwilder/nginx-proxy",
		PortBindings: http, Env: []string{"constraint:public==yes", "DOCKER_HOST"}}).Node.Name)
	assert.Equal(t, "backend1", run("redis-counter", &scheduler.Request{Image: "andersjanmyr/counter",
		PortBindings: random80, Links: []string{"redis:redis"}, Env: []string{"affinity:container==*redis*"}}).Node.Name)
	assert.Equal(t, "backend2", run("postgres-counter", &scheduler.Request{Image: "andersjanmyr/counter",
		PortBindings: random80, Links: []string{"postgres:postgres"}}).Node.Name, "--link implies affinity")

	d := run("nginx2", &scheduler.Request{Image: "jwilder/nginx-proxy", PortBindings: http,
		Env: []string{"constraint:public==yes"}})
	require.Nil(t, d.Node)
	assert.Equal(t, "Unable to find a node that satisfies the following conditions\n"+
		"[port 80 (Bridge mode)]\n"+
		"[public==yes]\n"+
		"port 80 (Bridge mode) excluded 1 of 4 nodes\n"+
		"constraint public==yes excluded 3 of 4 nodes", d.Explain())
}
