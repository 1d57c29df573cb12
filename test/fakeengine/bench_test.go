package fakeengine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/require"
)

// populate gives e n containers the way the simulator will: varied labels,
// images and published ports, two thirds running.
func populate(tb testing.TB, e *Engine, n int) {
	tb.Helper()
	images := []string{"busybox", "nginx", "redis"}
	for i := range n {
		spec := ContainerSpec{
			Name:    fmt.Sprintf("c%03d", i),
			Image:   images[i%len(images)],
			Labels:  map[string]string{"app": fmt.Sprintf("app%d", i%5), "tier": []string{"front", "back"}[i%2]},
			Running: i%3 != 0,
		}
		if i%4 == 0 {
			spec.Ports = []string{fmt.Sprintf("%d:80", 10000+i)}
		} else if i%4 == 1 {
			spec.Ports = []string{"8080"}
		}
		_, err := e.AddContainer(spec)
		require.NoError(tb, err)
	}
}

func BenchmarkListContainers(b *testing.B) {
	for _, n := range []int{30, 300} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			e := New(Options{Images: []string{"busybox", "nginx", "redis"}})
			populate(b, e, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1.41/containers/json?all=1", nil))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Body.String())
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "containers/s")
		})
	}
}

func BenchmarkCreateStartRemove(b *testing.B) {
	e := New(Options{Images: []string{"busybox"}})
	body := `{"Image":"busybox","Labels":{"app":"x"},"HostConfig":{"PortBindings":{"80/tcp":[{}]}},"ExposedPorts":{"80/tcp":{}}}`
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1.41/containers/create", strings.NewReader(body)))
		if rec.Code != http.StatusCreated {
			b.Fatal(rec.Body.String())
		}
		id := rec.Body.String()[7:71]
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1.41/containers/"+id+"/start", nil))
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/v1.41/containers/"+id+"?force=1", nil))
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "containers/s")
}

// BenchmarkFootprint measures the heap and goroutines of started engines with
// 30 containers each, the simulator's shape, per engine and per container.
func BenchmarkFootprint(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("engines=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				g0 := runtime.NumGoroutine()
				b.StartTimer()
				engines := make([]*Engine, n)
				for i := range engines {
					engines[i] = New(Options{Images: []string{"busybox", "nginx", "redis"}, EventHistory: 64})
					require.NoError(b, engines[i].Start())
					populate(b, engines[i], 30)
				}
				b.StopTimer()
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap := float64(after.HeapAlloc - before.HeapAlloc)
				b.ReportMetric(heap/float64(n), "heapB/engine")
				b.ReportMetric(heap/float64(n*30), "heapB/container")
				b.ReportMetric(float64(runtime.NumGoroutine()-g0)/float64(n), "goroutines/engine")
				for _, e := range engines {
					e.Close()
				}
				b.StartTimer()
			}
		})
	}
}

// createBody is POST /containers/create as the Go SDK sends it for
// `docker run -d -p 80 -l app=web busybox`: the whole CreateRequest with its
// many zero fields, which is what the simulator has to parse under load.
func createBody(tb testing.TB) []byte {
	tb.Helper()
	body, err := json.Marshal(container.CreateRequest{
		Config: &container.Config{
			Image:        "busybox",
			Labels:       map[string]string{"app": "web", "com.example.owner": "bench"},
			Env:          []string{"A=1"},
			Cmd:          []string{"sleep", "3600"},
			ExposedPorts: nat.PortSet{"80/tcp": {}},
		},
		HostConfig: &container.HostConfig{
			PortBindings:  nat.PortMap{"80/tcp": {{}}},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			LogConfig:     container.LogConfig{Type: "json-file"},
		},
		NetworkingConfig: &network.NetworkingConfig{},
	})
	require.NoError(tb, err)
	return body
}

// rawClient speaks HTTP/1.1 keep-alive over one loopback connection with
// prebuilt requests, so the benchmark's own CPU stays small next to the
// engine's.
type rawClient struct {
	conn net.Conn
	rd   *bufio.Reader
}

func dialRaw(tb testing.TB, addr string) *rawClient {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close() })
	return &rawClient{conn: c, rd: bufio.NewReader(c)}
}

// do sends one request and returns the status and body.
func (c *rawClient) do(tb testing.TB, method, path string, body []byte) (int, []byte) {
	req := method + " " + path + " HTTP/1.1\r\nHost: docker\r\nUser-Agent: bench\r\n"
	if body != nil {
		req += "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := c.conn.Write(append([]byte(req+"\r\n"), body...)); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(c.rd, nil)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, out
}

// BenchmarkRunCycle is one `docker run -d` as the manager drives it against an
// engine: create, start, inspect, over a keep-alive loopback connection, with
// one /events subscriber receiving the events. A forced remove ends each cycle
// so the engine keeps the simulator's size (30 containers) however long the
// benchmark runs. It is the simulator's cost per container in the
// create+start figure.
func BenchmarkRunCycle(b *testing.B) {
	e := New(Options{Images: []string{"busybox", "nginx", "redis"}})
	require.NoError(b, e.Start())
	defer e.Close()
	populate(b, e, 30)
	ev, err := net.Dial("tcp", e.Addr())
	require.NoError(b, err)
	defer func() { _ = ev.Close() }()
	_, err = ev.Write([]byte("GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n"))
	require.NoError(b, err)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, ev)
	}()
	require.Eventually(b, func() bool { return e.EventStreams() == 1 }, 5*time.Second, time.Millisecond)
	cli := dialRaw(b, e.Addr())
	body := createBody(b)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		code, resp := cli.do(b, http.MethodPost, "/v1.41/containers/create", body)
		if code != http.StatusCreated {
			b.Fatal(code, string(resp))
		}
		id := string(resp[7:71])
		steps := []struct {
			method, path string
			want         int
		}{
			{http.MethodPost, "/v1.41/containers/" + id + "/start", http.StatusNoContent},
			{http.MethodGet, "/v1.41/containers/" + id + "/json", http.StatusOK},
			{http.MethodDelete, "/v1.41/containers/" + id + "?force=1", http.StatusNoContent},
		}
		for _, s := range steps {
			if code, resp = cli.do(b, s.method, s.path, nil); code != s.want {
				b.Fatal(s.method, s.path, code, string(resp))
			}
		}
	}
	b.StopTimer()
	// CPU rather than wall time is the figure that matters: on the 2-core
	// benchmark machine every CPU-second the simulator spends is taken from
	// the manager. It includes the benchmark's own small client.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "containers/s")
	e.Close()
	<-drained
}

// processCPU is the user+system CPU time this process used so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
