package filters

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swarmlab/swarm/scheduler"
)

func blogCluster() []*scheduler.Node {
	return []*scheduler.Node{
		node("swarm-master").Label("public", "no").Label("storagedriver", "aufs").Build(),
		node("frontend").Label("public", "yes").Label("storagedriver", "aufs").Build(),
		node("backend1").Label("public", "no").Label("model", "high-memory").Label("storagedriver", "aufs").Build(),
		node("backend2").Label("public", "no").Label("model", "large-disk").Label("storagedriver", "overlay2").Build(),
	}
}

func TestConstraint(t *testing.T) {
	tests := []struct {
		exprs []string
		want  []string
	}{
		{[]string{"public!=yes", "model==high-memory"}, []string{"backend1"}},
		{[]string{"public!=yes", "model==large-disk"}, []string{"backend2"}},
		{[]string{"public==yes"}, []string{"frontend"}},
		{[]string{"model==gpu"}, nil},
		{[]string{"model!=gpu"}, []string{"swarm-master", "frontend", "backend1", "backend2"}},
		{[]string{"model==*"}, []string{"swarm-master", "frontend", "backend1", "backend2"}},
		{[]string{"model==/^$/"}, []string{"swarm-master", "frontend"}},
		{[]string{"model==high-*"}, []string{"backend1"}},
		{[]string{"model==/DISK/"}, nil},
		{[]string{"model==/(?i)DISK/"}, []string{"backend2"}},
		{[]string{"storagedriver==overlay2"}, []string{"backend2"}},
		{[]string{"node==frontend"}, []string{"frontend"}},
		{[]string{"node==id-backend1"}, []string{"backend1"}},
		{[]string{"node==backend*"}, []string{"backend1", "backend2"}},
		{[]string{"node!=backend1|backend2"}, []string{"swarm-master", "frontend"}},
	}
	for _, tt := range tests {
		t.Run(tt.exprs[0], func(t *testing.T) {
			var e []string
			for _, x := range tt.exprs {
				e = append(e, "constraint:"+x)
			}
			names, _ := passing(t, Constraint{}, env(e...), blogCluster()...)
			assert.ElementsMatch(t, tt.want, names)
		})
	}
	t.Run("reason is the first failing constraint", func(t *testing.T) {
		_, reasons := passing(t, Constraint{}, env("constraint:public!=yes", "constraint:model==gpu"), blogCluster()...)
		assert.Equal(t, map[string]string{
			"frontend": "public!=yes", "swarm-master": "model==gpu", "backend1": "model==gpu", "backend2": "model==gpu",
		}, reasons)
	})
}

func TestWhitelist(t *testing.T) {
	names, reasons := passing(t, Whitelist{}, env("whitelist:node==backend1|frontend"), blogCluster()...)
	assert.ElementsMatch(t, []string{"backend1", "frontend"}, names)
	assert.Equal(t, "node==backend1|frontend", reasons["backend2"])
	names, _ = passing(t, Whitelist{}, env("whitelist:node!=backend1"), blogCluster()...)
	assert.NotContains(t, names, "backend1")
	assert.Len(t, names, 3)
}
