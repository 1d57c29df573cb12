package filters

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swarmlab/swarm/scheduler"
)

func TestAffinity(t *testing.T) {
	nodes := []*scheduler.Node{
		node("n1").Containers(
			ctr("redis").ID("ffa41d90f4140000").Label("role", "cache").Build(),
			ctr("redis-counter").Label("role", "web").Alias("x/y").Build(),
		).Image("sha256:6e3f0c7b4d1a2b3c4d5e", "redis:7", "redis:latest").Build(),
		node("n2").Containers(
			ctr("postgres").ID("aa1679b3da5c0000").Build(),
		).Image("sha256:77aa", "localhost:5000/app:1").Build(),
		node("n3").Build(),
	}
	tests := []struct {
		expr string
		want []string
	}{
		{"container==redis", []string{"n1"}},
		{"container!=redis", []string{"n2", "n3"}},
		{"container==*redis*", []string{"n1"}},
		{"container==/^post/", []string{"n2"}},
		{"container==aa1679", []string{"n2"}},
		{"container==aa1679b3da5c0000", []string{"n2"}},
		{"container==aa1", nil},
		{"container==redis|postgres", []string{"n1", "n2"}},
		{"container==x/y", []string{"n1"}},
		{"container==nope", nil},
		{"image==redis", []string{"n1"}},
		{"image==redis:7", []string{"n1"}},
		{"image==redis:6", nil},
		{"image==sha256:6e3f0c7b4d1a2b3c4d5e", []string{"n1"}},
		{"image==6e3f0c7b4d1a", []string{"n1"}},
		{"image==localhost:5000/app", []string{"n2"}},
		{"image==localhost:5000/app:1", []string{"n2"}},
		{"image!=redis*", []string{"n2", "n3"}},
		{"role==web", []string{"n1"}},
		{"role!=web", []string{"n2", "n3"}},
		{"role==/^$/", []string{"n2"}},
		{"role==*", []string{"n1", "n2"}},
		{"role!=*", []string{"n3"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			names, reasons := passing(t, Affinity{}, env("affinity:"+tt.expr), nodes...)
			assert.Equal(t, tt.want, names)
			for _, r := range reasons {
				assert.Equal(t, tt.expr, r)
			}
		})
	}
	t.Run("soft affinities are not hard", func(t *testing.T) {
		names, _ := passing(t, Affinity{}, env("affinity:container==~nope"), nodes...)
		assert.Len(t, names, 3)
	})
	t.Run("expressions from the label", func(t *testing.T) {
		req := &scheduler.Request{Labels: map[string]string{scheduler.LabelAffinities: `["container==postgres"]`}}
		names, _ := passing(t, Affinity{}, req, nodes...)
		assert.Equal(t, []string{"n2"}, names)
	})
	t.Run("first failing affinity is the reason", func(t *testing.T) {
		_, reasons := passing(t, Affinity{}, env("affinity:image==redis", "affinity:container==redis"), nodes...)
		assert.Equal(t, "image==redis", reasons["n2"])
	})
}
