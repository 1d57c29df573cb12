package scheduler_test

import (
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/scheduler/schedtest"
)

// TestConcurrentSchedule shares one Scheduler and one Snapshot between
// goroutines, as the cluster may under a read lock; run with -race. Each
// goroutine must get the answers a lone caller gets.
func TestConcurrentSchedule(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	snap := schedtest.Snapshot(schedtest.RandomCluster(r, 50)...)
	s := scheduler.New(scheduler.Config{Filters: filters.Default()})
	reqs := make([]*scheduler.Request, 40)
	want := make([]*scheduler.Node, len(reqs))
	for k := range reqs {
		reqs[k] = schedtest.RandomRequest(r, 50)
		d, err := s.Schedule(snap, reqs[k], rand.New(rand.NewSource(int64(k))))
		if err != nil {
			reqs[k] = &scheduler.Request{}
			d, err = s.Schedule(snap, reqs[k], rand.New(rand.NewSource(int64(k))))
		}
		require.NoError(t, err)
		want[k] = d.Node
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 20; round++ {
				for k, req := range reqs {
					d, err := s.Schedule(snap, req, rand.New(rand.NewSource(int64(k))))
					if !assert.NoError(t, err) || !assert.Same(t, want[k], d.Node) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
