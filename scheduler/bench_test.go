package scheduler_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

var benchSizes = []int{100, 1000, 10000}

// BenchmarkSchedule measures one decision (parse, seven filters,
// reservation check, spread) on the load of issue 2.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			snap := schedtest.Snapshot(schedtest.BenchCluster(r, n)...)
			reqs := schedtest.BenchRequests(r, n, 4096)
			s := scheduler.New(scheduler.Config{Filters: filters.Default()})
			rnd := rand.New(rand.NewSource(2))
			placed, i := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				d, err := s.Schedule(snap, reqs[i%len(reqs)], rnd)
				i++
				if err != nil {
					b.Fatal(err)
				}
				if d.Node != nil {
					placed++
				}
			}
			if placed == 0 {
				b.Fatal("no request was placed: the load is wrong")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkScheduleCommit adds what the cluster does after each decision:
// record the in-flight container by putting a new version of the chosen
// node into the snapshot.
func BenchmarkScheduleCommit(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			snap := schedtest.Snapshot(schedtest.BenchCluster(r, n)...)
			reqs := schedtest.BenchRequests(r, n, 4096)
			s := scheduler.New(scheduler.Config{Filters: filters.Default()})
			rnd := rand.New(rand.NewSource(2))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				req := reqs[i%len(reqs)]
				d, err := s.Schedule(snap, req, rnd)
				if err != nil {
					b.Fatal(err)
				}
				if d.Node == nil {
					continue
				}
				next := *d.Node
				cpu, mem := req.Reservation()
				next.Containers = append(next.Containers[:len(next.Containers):len(next.Containers)], &scheduler.Container{
					ID: fmt.Sprintf("inflight%08d", i), Names: []string{fmt.Sprintf("new-%d", i)},
					State: "creating", NanoCPUs: cpu, Memory: mem,
				})
				if len(next.Containers) > 40 {
					next.Containers = next.Containers[len(next.Containers)-30:]
				}
				snap.Put(&next)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkSchedulePlain is the worst case for the strategy: a bare
// `docker run -m 512m` with no expressions and no ports, so every healthy
// node is a candidate to check and rank.
func BenchmarkSchedulePlain(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			snap := schedtest.Snapshot(schedtest.BenchCluster(r, n)...)
			req := &scheduler.Request{Image: "busybox", Memory: 512 << 20}
			s := scheduler.New(scheduler.Config{Filters: filters.Default()})
			rnd := rand.New(rand.NewSource(2))
			b.ReportAllocs()
			for b.Loop() {
				d, err := s.Schedule(snap, req, rnd)
				if err != nil || d.Node == nil {
					b.Fatal("plain request not placed", err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}

// BenchmarkScheduleGlob replaces the literal anti-affinity of the issue's
// load with the blog's glob form (affinity:container==*-00042-*), which
// the index cannot look up: it scans the distinct container names.
func BenchmarkScheduleGlob(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			snap := schedtest.Snapshot(schedtest.BenchCluster(r, n)...)
			req := &scheduler.Request{Image: "busybox", Memory: 512 << 20,
				Env: []string{"affinity:container==*-00042-*"}}
			s := scheduler.New(scheduler.Config{Filters: filters.Default()})
			rnd := rand.New(rand.NewSource(2))
			b.ReportAllocs()
			for b.Loop() {
				d, err := s.Schedule(snap, req, rnd)
				if err != nil || d.Node == nil || d.Node.Name != "node-00042" {
					b.Fatal("glob affinity not honoured", err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
