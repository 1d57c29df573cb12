package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNodes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Engine
		wantErr string
	}{
		{
			name: "seed machines",
			in:   "swarm-master 10.77.0.11 public=no\nbackend1 10.77.0.13 public=no,model=high-memory\n",
			want: []Engine{
				{Name: "swarm-master", IP: "10.77.0.11", Addr: "10.77.0.11:2375", Labels: map[string]string{"public": "no"}},
				{Name: "backend1", IP: "10.77.0.13", Addr: "10.77.0.13:2375", Labels: map[string]string{"public": "no", "model": "high-memory"}},
			},
		},
		{
			name: "no labels and blank lines",
			in:   "\nnode5 10.77.0.15 -\n\n",
			want: []Engine{{Name: "node5", IP: "10.77.0.15", Addr: "10.77.0.15:2375", Labels: map[string]string{}}},
		},
		{name: "empty", in: "", wantErr: "no engines listed"},
		{name: "missing labels column", in: "a 10.77.0.11\n", wantErr: `line 1: want "NAME IP LABELS"`},
		{name: "address off the subnet", in: "a 10.78.0.11 -\n", wantErr: "not a host on the lab subnet"},
		{name: "bridge address", in: "a 10.77.0.0 -\n", wantErr: "not a host on the lab subnet"},
		{name: "not an address", in: "a banana -\n", wantErr: "not a host on the lab subnet"},
		{name: "label without value", in: "a 10.77.0.11 public\n", wantErr: `label "public" of a is not KEY=VALUE`},
		{name: "duplicate", in: "a 10.77.0.11 -\na 10.77.0.12 -\n", wantErr: `line 2: engine "a" listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNodes(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseNodes(f *testing.F) {
	f.Add("swarm-master 10.77.0.11 public=no\nfrontend 10.77.0.12 public=yes\n")
	f.Add("node5 10.77.0.15 -\n")
	f.Add("a 10.77.0.11 k=v,=x\n")
	f.Fuzz(func(t *testing.T, in string) {
		engines, err := ParseNodes(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range engines {
			assert.False(t, seen[e.Name], "duplicate engine %q accepted", e.Name)
			seen[e.Name] = true
			assert.Equal(t, e.IP+":2375", e.Addr)
			for k := range e.Labels {
				assert.NotEmpty(t, k)
			}
		}
	})
}
