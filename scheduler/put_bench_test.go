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
		})
	}
}

// BenchmarkPutRebuilt replaces one node with a version rebuilt the way
// the cluster rebuilds its view — every container and image a new value —
// with one container changed (a state change and a new label).
func BenchmarkPutRebuilt(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			nodes := schedtest.BenchCluster(r, n)
			snap := schedtest.Snapshot(nodes...)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				old := nodes[i%n]
				nd := *old
				nd.Containers = make([]*scheduler.Container, len(old.Containers))
				for k, c := range old.Containers {
					cp := *c
					nd.Containers[k] = &cp
				}
				changed := nd.Containers[i%len(nd.Containers)]
				changed.State = "exited"
				changed.Labels = map[string]string{"role": "role1", "app": fmt.Sprint("app", i%100)}
				nd.Images = make([]*scheduler.Image, len(old.Images))
				for k, img := range old.Images {
					cp := *img
					nd.Images[k] = &cp
				}
				snap.Put(&nd)
				nodes[i%n] = &nd
				i++
			}
		})
	}
}
