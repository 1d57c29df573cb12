package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSystemStatus(t *testing.T) {
	const p = "  └ "
	tests := []struct {
		name    string
		in      [][2]string
		want    ClusterInfo
		wantErr string
	}{
		{
			name: "two nodes, one down",
			in: [][2]string{
				{"Role", "primary"}, {"Strategy", "spread"}, {"Filters", "health, port, constraint"}, {"Nodes", "2"},
				{" backend1", "10.77.0.13:2375"}, {p + "ID", "AAAA"}, {p + "Status", "Healthy"},
				{p + "Labels", "model=high-memory, public=no"}, {p + "UpdatedAt", "2026-01-01T00:00:00Z"},
				{" backend2", "10.77.0.14:2375"}, {p + "ID", "BBBB"}, {p + "Status", "Unhealthy"},
				{p + "Labels", ""}, {p + "Error", "connection refused"},
			},
			want: ClusterInfo{
				Strategy: "spread", Filters: []string{"health", "port", "constraint"}, declared: "2",
				Nodes: []NodeStatus{
					{Name: "backend1", Addr: "10.77.0.13:2375", ID: "AAAA", Status: "Healthy", Labels: map[string]string{"model": "high-memory", "public": "no"}},
					{Name: "backend2", Addr: "10.77.0.14:2375", ID: "BBBB", Status: "Unhealthy", Labels: map[string]string{}, Error: "connection refused"},
				},
			},
		},
		{name: "detail before node", in: [][2]string{{p + "ID", "AAAA"}}, wantErr: "before any node line"},
		{name: "count mismatch", in: [][2]string{{"Nodes", "3"}, {" a", "x:1"}}, wantErr: `Nodes: "3" but 1 node blocks`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSystemStatus(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, []string{"backend1"}, got.Healthy())
			n, ok := got.Node("backend2")
			assert.True(t, ok)
			assert.Equal(t, "Unhealthy", n.Status)
		})
	}
}

func FuzzParseSystemStatus(f *testing.F) {
	f.Add("Nodes", "1", " a", "10.77.0.11:2375", "  └ Labels", "k=v, x")
	f.Add("  └ ID", "", " a", "", "Filters", ",,")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		ci, err := ParseSystemStatus([][2]string{{k1, v1}, {k2, v2}, {k3, v3}})
		if err != nil {
			return
		}
		for _, n := range ci.Nodes {
			assert.NotNil(t, n.Labels, "every node has a label map")
		}
		assert.LessOrEqual(t, len(ci.Healthy()), len(ci.Nodes))
	})
}
