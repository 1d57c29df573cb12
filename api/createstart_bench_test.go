package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/swarmlab/swarm/test/fakeengine"
)

// BenchmarkCreateStart is `docker run -d` (create, then start) through
// the real API server and cluster, over loopback HTTP to 20 fake engines
// in this process. Its bytes and allocations per operation are what the
// manager's garbage collector pays for per container (the fake engines'
// share is included and does not change with the manager's code); they
// are stable where the 1,000-engine benchmark's CPU figures swing with
// the VM's speed.
func BenchmarkCreateStart(b *testing.B) {
	var addrs []string
	for i := range 20 {
		e := fakeengine.New(fakeengine.Options{Name: fmt.Sprintf("bench-%02d", i), Labels: map[string]string{"zone": fmt.Sprint(i % 4)},
			Images: []string{"busybox:latest"}, EventHistory: 1000})
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(e.Close)
		addrs = append(addrs, e.Addr())
	}
	base, _ := startManager(b, addrs, nil)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.Cleanup(client.CloseIdleConnections)
	// What docker 28.2.2's CLI sends for `docker run -d -l bench=1 busybox:latest sh`.
	body, err := os.ReadFile("../test/bench/testdata/docker-28.2.2-run-d.json")
	if err != nil {
		b.Fatal(err)
	}
	post := func(url string, body []byte, want int) []byte {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != want {
			b.Fatalf("POST %s: status %d, %v: %s", url, resp.StatusCode, err, data)
		}
		return data
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		data := post(fmt.Sprintf("%s/v1.41/containers/create?name=bench-%d", base, i), body, http.StatusCreated)
		id := data[bytes.Index(data, []byte(`"Id":"`))+6:]
		id = id[:bytes.IndexByte(id, '"')]
		post(base+"/v1.41/containers/"+string(id)+"/start", nil, http.StatusNoContent)
	}
}
