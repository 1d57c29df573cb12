package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// FuzzServe throws arbitrary requests at the API: it must never panic, and
// every error is the engine's JSON error shape with a message.
func FuzzServe(f *testing.F) {
	seeds := []struct{ method, path, query, body string }{
		{"GET", "/v1.41/containers/json", "all=1&filters=" + url.QueryEscape(`{"node":{"backend1":true}}`), ""},
		{"POST", "/containers/create", "name=web", `{"Image":"redis","Env":["constraint:model==x"]}`},
		{"POST", "/v1.47/containers/create", "name=a/b", `{"Image":`},
		{"GET", "/images/json", "filters=" + url.QueryEscape(`{"reference":{"re*":true}}`), ""},
		{"POST", "/networks/create", "", `{"Name":"backend1/net"}`},
		{"GET", "/v9.9/info", "", ""},
		{"POST", "/exec/x/start", "", `{"Detach":true}`},
		{"DELETE", "/containers/backend1/redis", "force=1", ""},
		{"POST", "/images/create", "fromImage=redis&constraint=node%3D%3D%5B", ""},
		{"GET", "/containers/json", "limit=x&filters=%7B", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body)
	}
	srv, err := New(Config{Cluster: psCluster(), MaxBodyBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if strings.Contains(path, "events") || !strings.HasPrefix(path, "/") {
			return // events stream until the client leaves; paths start with "/"
		}
		req, err := http.NewRequest(method, "http://manager"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code >= 400 && method != http.MethodHead {
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" {
				t.Fatalf("%s %s: error answer %d is not a JSON message: %q", method, path, rec.Code, rec.Body.String())
			}
		}
	})
}

// BenchmarkListContainers measures `docker ps -a` served from the cache.
func BenchmarkListContainers(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			f := seedCluster()
			for i := range n {
				nd := f.nodes[i%2]
				f.containers = append(f.containers, Container{Node: nd, Summary: container.Summary{
					ID: fmt.Sprintf("%064x", i), Names: []string{fmt.Sprintf("/c%d", i)}, State: "running", Created: int64(i),
					Ports: []container.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: uint16(30000 + i%1000), Type: "tcp"}}}})
			}
			srv, err := New(Config{Cluster: f})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/v1.41/containers/json?all=1", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lists/s")
		})
	}
}
