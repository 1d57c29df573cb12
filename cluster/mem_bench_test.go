package cluster

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// BenchmarkEntryMemory reports the heap one cached container costs, built
// from a decoded inspect answer as the manager builds it: a running
// container on the default bridge with three labels, every fourth with a
// published port. "replicas": labels drawn from 70 sets, as replicas of
// a few services (and the engine simulator) have them; "unique": one more
// label numbering each container, as docker compose adds, so no two sets
// are equal.
func BenchmarkEntryMemory(b *testing.B) {
	const n = 30000
	for _, mode := range []string{"replicas", "unique"} {
		b.Run(mode, func(b *testing.B) {
			answers := make([][]byte, n)
			for i := range answers {
				answers[i] = inspectJSON(i, mode == "unique")
			}
			var perEntry float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				entries := make([]*entry, n)
				for i, raw := range answers {
					var in container.InspectResponse
					if err := json.Unmarshal(raw, &in); err != nil {
						b.Fatal(err)
					}
					entries[i] = fromInspect(in)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntry = float64(after.HeapAlloc-before.HeapAlloc-uint64(8*n)) / n
				runtime.KeepAlive(entries)
			}
			b.ReportMetric(perEntry, "B/container")
		})
	}
}

func inspectJSON(i int, unique bool) []byte {
	id := fmt.Sprintf("%064x", i+1)
	labels := map[string]string{"app": "app" + strconv.Itoa(i%7), "tier": []string{"front", "back"}[i%2], "team": "team" + strconv.Itoa(i%5)}
	if unique {
		labels["com.docker.compose.container-number"] = strconv.Itoa(i)
	}
	in := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: id, Name: fmt.Sprintf("/c%05d", i), Image: "sha256:" + fmt.Sprintf("%064x", i%4), Created: "2024-01-02T03:04:05.000000006Z",
			Path: "sleep", Args: []string{"3600"},
			State:      &container.State{Status: container.StateRunning, StartedAt: "2024-01-02T03:04:06Z", FinishedAt: "0001-01-01T00:00:00Z"},
			HostConfig: &container.HostConfig{NetworkMode: "bridge"},
		},
		Config: &container.Config{Image: "busybox:" + strconv.Itoa(i%4), Labels: labels},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"bridge": {
			NetworkID: fmt.Sprintf("%064x", 7), EndpointID: fmt.Sprintf("%064x", i+100000), Gateway: "172.17.0.1",
			IPAddress: fmt.Sprintf("172.17.%d.%d", i/250, i%250+2), IPPrefixLen: 16, MacAddress: fmt.Sprintf("02:42:ac:11:%02x:%02x", i/250%256, i%250),
		}}},
	}
	if i%4 == 0 {
		in.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostPort: strconv.Itoa(8000 + i%1000)}}}
		in.NetworkSettings.Ports = nat.PortMap{"80/tcp": {{HostIP: "0.0.0.0", HostPort: strconv.Itoa(8000 + i%1000)}}}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		panic(err) // a fixed fixture always encodes
	}
	return raw
}

// BenchmarkContainersList measures what `docker ps -a` costs the cluster
// at classic Swarm's size (1,000 nodes, 30 containers each, each on the
// default bridge): building every summary under the lock and sorting.
// Before the compact entry (1,636 → 733 B/container) a listing shared
// each cached NetworkSettings and took ≈ 39 ms; building them from the
// compact endpoints took ≈ 67 ms, hence lean listings.
func BenchmarkContainersList(b *testing.B) {
	c, i := listingCluster(b)
	leanOrNot(b, func(b *testing.B, known func(uint64) bool) {
		var buf []Container
		b.ReportAllocs()
		for b.Loop() {
			buf = c.ContainersInto(buf, known)
			if len(buf) != i {
				b.Fatalf("listed %d of %d", len(buf), i)
			}
		}
	})
}

// listingCluster is 1,000 nodes of 30 cached containers each, and how
// many containers that is.
func listingCluster(b *testing.B) (*Cluster, int) {
	c := bareCluster(b, 1000)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for _, n := range c.nodes {
		for range 30 {
			var in container.InspectResponse
			if err := json.Unmarshal(inspectJSON(i, false), &in); err != nil {
				b.Fatal(err)
			}
			i++
			c.storeLocked(n, fromInspect(in))
		}
		c.putNodeLocked(n)
	}
	return c, i
}

// BenchmarkListingLockWait is what listings cost everything else the
// cluster does: while 30,000 containers are listed back to back, another
// goroutine takes and releases the cluster's lock every 100 us, as a
// create's placement or an event's application does, and the longest and
// the 99th-percentile wait for it are reported.
func BenchmarkListingLockWait(b *testing.B) {
	c, _ := listingCluster(b)
	leanOrNot(b, func(b *testing.B, known func(uint64) bool) {
		stop := make(chan struct{})
		waits := make(chan []time.Duration)
		go func() {
			var w []time.Duration
			for {
				select {
				case <-stop:
					waits <- w
					return
				default:
				}
				t0 := time.Now()
				c.mu.Lock()
				c.mu.Unlock()
				w = append(w, time.Since(t0))
				time.Sleep(100 * time.Microsecond)
			}
		}()
		var buf []Container
		for b.Loop() {
			buf = c.ContainersInto(buf, known)
		}
		close(stop)
		w := <-waits
		slices.Sort(w)
		b.ReportMetric(float64(w[len(w)-1].Microseconds())/1000, "max-wait-ms")
		b.ReportMetric(float64(w[len(w)*99/100].Microseconds())/1000, "p99-wait-ms")
	})
}

// leanOrNot runs f as two sub-benchmarks: listing whole, and lean (the API
// has every container's encoding cached, any listing after the first, so
// none needs its networks built).
func leanOrNot(b *testing.B, f func(b *testing.B, known func(uint64) bool)) {
	for _, lean := range []bool{false, true} {
		b.Run(fmt.Sprintf("lean=%t", lean), func(b *testing.B) {
			var known func(uint64) bool
			if lean {
				known = func(uint64) bool { return true }
			}
			f(b, known)
		})
	}
}
