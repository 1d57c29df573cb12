package schedtest

import (
	"fmt"
	"math/rand"

	"github.com/swarmlab/swarm/scheduler"
)

// BenchCluster returns the benchmark load of issue 2: n healthy nodes of
// 32 CPUs and 256 GiB, each with 30 containers (varied names, IDs,
// images, labels, states and published ports), 10 images and labels
// drawn from spaces of different sizes (zone: 10 values, rack: 50,
// disk: 2, storagedriver: 2, gpu on a tenth of the nodes).
func BenchCluster(r *rand.Rand, n int) []*scheduler.Node {
	imgs := make([]string, 50)
	for i := range imgs {
		imgs[i] = fmt.Sprintf("registry.local:5000/team%d/app%d", i%7, i)
	}
	nodes := make([]*scheduler.Node, n)
	for i := range nodes {
		b := Node(fmt.Sprintf("node-%05d", i)).ID(fmt.Sprintf("%016x", r.Uint64())).
			CPUs(32).Memory(256<<30).
			Label("zone", fmt.Sprintf("z%d", r.Intn(10))).
			Label("rack", fmt.Sprintf("r%d", r.Intn(50))).
			Label("disk", pick(r, []string{"ssd", "hdd"})).
			Label("storagedriver", pick(r, []string{"overlay2", "overlay2", "overlay2", "btrfs"})).
			Label("kernelversion", pick(r, []string{"6.1.0-18-amd64", "6.8.0-40-generic"})).
			Label("operatingsystem", "Debian GNU/Linux 12 (bookworm)").
			Label("ostype", "linux")
		if r.Intn(10) == 0 {
			b.Label("gpu", "yes")
		}
		for k := 0; k < 10; k++ {
			img := imgs[r.Intn(len(imgs))]
			b.Image(fmt.Sprintf("sha256:%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()), img+":latest", img+":v1")
		}
		for k := 0; k < 30; k++ {
			c := Container(fmt.Sprintf("web-%05d-%02d", i, k)).
				ID(fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())).
				Image(imgs[r.Intn(len(imgs))]).
				State(pick(r, []string{"running", "running", "running", "exited", "creating"})).
				Label("role", fmt.Sprintf("role%d", r.Intn(10))).
				Label("app", fmt.Sprintf("app%d", r.Intn(100))).
				Reserve(0.25, 256<<20)
			switch r.Intn(3) {
			case 0:
				c.RawPort(scheduler.Port{HostIP: "0.0.0.0", HostPort: uint16(8000 + r.Intn(1000)), Proto: "tcp"})
			case 1:
				c.RawPort(scheduler.Port{HostIP: fmt.Sprintf("10.%d.%d.1", i/250, i%250), HostPort: uint16(8000 + r.Intn(1000)), Proto: "tcp"})
			}
			b.Containers(c.Build())
		}
		nodes[i] = b.Build()
	}
	return nodes
}

// BenchRequests returns count requests for a BenchCluster of n nodes:
// three constraints (zone==, disk!=, storagedriver==), one container
// anti-affinity naming an existing container, one fixed host port, a
// reservation of half a CPU and 512 MiB. Each passes roughly 7% of the
// nodes.
func BenchRequests(r *rand.Rand, n, count int) []*scheduler.Request {
	reqs := make([]*scheduler.Request, count)
	for i := range reqs {
		reqs[i] = &scheduler.Request{
			Image: "registry.local:5000/team1/app8",
			Env: []string{
				fmt.Sprintf("constraint:zone==z%d", r.Intn(10)),
				"constraint:disk!=hdd",
				"constraint:storagedriver==overlay2",
				fmt.Sprintf("affinity:container!=web-%05d-%02d", r.Intn(n), r.Intn(30)),
				"PORT=8080",
			},
			PortBindings: map[string][]scheduler.PortBinding{
				"80/tcp": {{HostPort: fmt.Sprint(8000 + r.Intn(1000))}},
			},
			NanoCPUs: 5e8,
			Memory:   512 << 20,
		}
	}
	return reqs
}
