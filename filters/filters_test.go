package filters

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

func TestDefaultOrder(t *testing.T) {
	assert.Equal(t, []string{"health", "port", "containerslots", "dependency", "affinity", "constraint", "whitelist"}, Names())
	for _, f := range Default() {
		_, ok := f.(scheduler.Narrower)
		assert.True(t, ok, "%s has no fast path", f.Name())
	}
}

func TestByName(t *testing.T) {
	fs, err := ByName([]string{"constraint", "Health", "constraint"})
	require.NoError(t, err)
	require.Len(t, fs, 2)
	assert.Equal(t, "constraint", fs[0].Name())
	assert.Equal(t, "health", fs[1].Name())

	_, err = ByName([]string{"health", "gpu"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"gpu"`)
	assert.Contains(t, err.Error(), "health, port, containerslots, dependency, affinity, constraint, whitelist")
}

func TestHealth(t *testing.T) {
	nodes := []*scheduler.Node{
		node("ok").Build(),
		node("pending").State(scheduler.NodePending).Build(),
		node("unhealthy").State(scheduler.NodeUnhealthy).Build(),
		node("gone").State(scheduler.NodeDisconnected).Build(),
		node("drained").State(scheduler.NodeDrained).Build(),
	}
	names, reasons := passing(t, Health{}, env(), nodes...)
	assert.Equal(t, []string{"ok"}, names)
	assert.Equal(t, reasonHealthy, reasons["drained"])
}

func TestContainerSlots(t *testing.T) {
	two := []*scheduler.Container{ctr("a").Build(), ctr("b").State("exited").Build()}
	tests := []struct {
		name  string
		label string
		ctrs  []*scheduler.Container
		pass  bool
	}{
		{"no label", "", two, true},
		{"room left", "3", two, true},
		{"full with a stopped container", "2", two, false},
		{"in-flight counts", "2", []*scheduler.Container{ctr("a").Build(), ctr("b").State("creating").Build()}, false},
		{"zero slots", "0", nil, false},
		{"not a number means no cap", "many", two, true},
		{"negative means no cap", "-1", two, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := node("n").Containers(tt.ctrs...)
			if tt.label != "" {
				b.Label(scheduler.LabelContainerSlots, tt.label)
			}
			names, reasons := passing(t, ContainerSlots{}, env(), b.Build())
			assert.Equal(t, tt.pass, len(names) == 1)
			if !tt.pass {
				assert.Equal(t, "available container slots", reasons["n"])
			}
		})
	}
}

func TestDependency(t *testing.T) {
	nodes := []*scheduler.Node{
		node("n1").Containers(ctr("redis").ID("aa1679b3da5c0000").Build(), ctr("data").State("exited").Build()).Build(),
		node("n2").Containers(ctr("postgres").Alias("web/db").Build(), ctr("pending").State("creating").Build()).Build(),
	}
	tests := []struct {
		name   string
		req    scheduler.Request
		want   []string
		reason string
	}{
		{"no dependency", scheduler.Request{}, []string{"n1", "n2"}, ""},
		{"link by name", scheduler.Request{Links: []string{"redis:cache"}}, []string{"n1"}, "link=redis"},
		{"link with slash", scheduler.Request{Links: []string{"/postgres:/x/postgres"}}, []string{"n2"}, "link=postgres"},
		{"link on user network does not pin", scheduler.Request{NetworkMode: "appnet", Links: []string{"redis"}}, []string{"n1", "n2"}, ""},
		{"link on bridge pins", scheduler.Request{NetworkMode: "bridge", Links: []string{"redis"}}, []string{"n1"}, "link=redis"},
		{"volumes-from stopped container", scheduler.Request{VolumesFrom: []string{"data:ro"}}, []string{"n1"}, "volumes-from=data"},
		{"in-flight container counts", scheduler.Request{VolumesFrom: []string{"pending"}}, []string{"n2"}, "volumes-from=pending"},
		{"net container by ID prefix", scheduler.Request{NetworkMode: "container:aa1679"}, []string{"n1"}, "net=container:aa1679"},
		{"pid by full ID", scheduler.Request{PidMode: "container:aa1679b3da5c0000"}, []string{"n1"}, "pid=container:aa1679b3da5c0000"},
		{"ID prefix too short", scheduler.Request{IpcMode: "container:aa1"}, nil, "ipc=container:aa1"},
		{"alias is not the name", scheduler.Request{VolumesFrom: []string{"db"}}, nil, "volumes-from=db"},
		{"two dependencies apart", scheduler.Request{Links: []string{"redis"}, VolumesFrom: []string{"postgres"}}, nil, ""},
		{"missing container", scheduler.Request{Links: []string{"nope"}}, nil, "link=nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, reasons := passing(t, Dependency{}, &tt.req, nodes...)
			assert.Equal(t, tt.want, names)
			if tt.reason != "" {
				for _, n := range nodes {
					if r, ok := reasons[n.Name]; ok {
						assert.Equal(t, tt.reason, r)
					}
				}
			}
		})
	}
}
