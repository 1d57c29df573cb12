package scheduler_test

import (
	"fmt"
	"math/rand"
	"runtime"
	"testing"

	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

// BenchmarkIndexMemory reports the heap the snapshot's indexes take per
// container (index-B/container) for the benchmark cluster, beyond the
// nodes themselves: one op is indexing every node once.
func BenchmarkIndexMemory(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			nodes := schedtest.BenchCluster(rand.New(rand.NewSource(1)), size)
			containers := 0
			for _, n := range nodes {
				containers += len(n.Containers)
			}
			var perContainer float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				snap := scheduler.NewSnapshot()
				for _, n := range nodes {
					snap.Put(n)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perContainer = float64(after.HeapAlloc-before.HeapAlloc) / float64(containers)
				runtime.KeepAlive(snap)
			}
			b.ReportMetric(perContainer, "index-B/container")
		})
	}
}
