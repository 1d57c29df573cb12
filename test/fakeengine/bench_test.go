package fakeengine

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

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
