package scheduler_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

// BenchmarkPut measures replacing one node of a loaded cluster, the
// cluster's cost for every container change; it must not grow with the
// cluster.
func BenchmarkPut(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			nodes := schedtest.BenchCluster(r, n)
			snap := schedtest.Snapshot(nodes...)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				nd := *nodes[i%n]
				snap.Put(&nd)
				i++
			}
			_ = scheduler.NewSnapshot
		})
	}
}
