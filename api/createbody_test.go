package api

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// BenchmarkDecodeCreateBody decodes the body docker 28.2.2's CLI sends
// for `docker run -d -l bench=1 busybox:latest sh` (the SDK's whole create
// request, 1,750 bytes) as createContainer does, once per container.
func BenchmarkDecodeCreateBody(b *testing.B) {
	body, err := os.ReadFile("../test/bench/testdata/docker-28.2.2-run-d.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var req container.CreateRequest
		if err := json.Unmarshal(body, &req); err != nil || req.Config == nil || req.HostConfig == nil {
			b.Fatalf("decoded %+v: %v", req, err)
		}
	}
}
