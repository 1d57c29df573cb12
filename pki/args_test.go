package pki

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCreateArgs(t *testing.T) {
	opts, err := ParseCreateArgs([]string{
		"--out", "/tmp/certs", "--manager", "manager.example.com", "--manager=10.0.0.2",
		"--node", "node1=10.0.0.5", "-node", "node2=fd00::6", "--client", "alice", "--client", "bob", "--days", "30",
	})
	require.NoError(t, err)
	assert.Equal(t, CreateOptions{
		Out:      "/tmp/certs",
		Managers: []string{"manager.example.com", "10.0.0.2"},
		Nodes:    []Node{{Name: "node1", IP: net.ParseIP("10.0.0.5")}, {Name: "node2", IP: net.ParseIP("fd00::6")}},
		Clients:  []string{"alice", "bob"},
		Validity: 30 * 24 * time.Hour,
	}, opts)

	opts, err = ParseCreateArgs([]string{"--out", "d", "--reuse-ca", "--node", "n3=10.0.0.7"})
	require.NoError(t, err)
	assert.True(t, opts.ReuseCA)
	assert.Equal(t, DefaultLeafValidity, opts.Validity)
}

func TestParseCreateArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"node without IP", []string{"--out", "d", "--manager", "m", "--node", "node1"}, []string{`"node1"`, "want NAME=IP", "-node"}},
		{"node invalid IP", []string{"--out", "d", "--manager", "m", "--node", "node1=10.0.0.300"}, []string{`"10.0.0.300" is not an IP address`, "NAME=IP"}},
		{"node host name as IP", []string{"--out", "d", "--manager", "m", "--node", "node1=node1.lan"}, []string{`"node1.lan" is not an IP address`}},
		{"node empty name", []string{"--out", "d", "--manager", "m", "--node", "=10.0.0.5"}, []string{`"=10.0.0.5" has an empty name`}},
		{"node bad name", []string{"--out", "d", "--manager", "m", "--node", "a/b=10.0.0.5"}, []string{`"a/b=10.0.0.5"`, "character '/' not allowed"}},
		{"node unspecified IP", []string{"--out", "d", "--manager", "m", "--node", "n=0.0.0.0"}, []string{"n=0.0.0.0", "unspecified"}},
		{"empty client", []string{"--out", "d", "--manager", "m", "--client", ""}, []string{"--client", "empty name"}},
		{"empty manager", []string{"--out", "d", "--manager", ""}, []string{`--manager ""`, "empty name"}},
		{"manager URL", []string{"--out", "d", "--manager", "tcp://m:3376"}, []string{`"tcp://m:3376"`}},
		{"no out", []string{"--manager", "m"}, []string{"--out DIR is required"}},
		{"no manager", []string{"--out", "d"}, []string{"--manager is required"}},
		{"positional", []string{"--out", "d", "--manager", "m", "node1=10.0.0.5"}, []string{`unexpected argument "node1=10.0.0.5"`, "--node"}},
		{"unknown flag", []string{"--out", "d", "--manager", "m", "--nodes", "x"}, []string{"-nodes", "see --help"}},
		{"days zero", []string{"--out", "d", "--manager", "m", "--days", "0"}, []string{"--days 0", "from 1 to"}},
		{"days not a number", []string{"--out", "d", "--manager", "m", "--days", "soon"}, []string{"soon", "-days"}},
		{"force and reuse", []string{"--out", "d", "--force", "--reuse-ca", "--client", "x"}, []string{"contradict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCreateArgs(tt.args)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "swarm certs create: "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseCreateArgsHelp(t *testing.T) {
	_, err := ParseCreateArgs([]string{"--help"})
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, err.Error(), "Usage: swarm certs create")
	for _, f := range []string{"-out", "-manager", "-node", "-client", "-force", "-reuse-ca", "-days"} {
		assert.Contains(t, CreateUsage(), f)
	}
}

// createArgs renders opts back into a command line.
func createArgs(o CreateOptions) []string {
	args := []string{"--out", o.Out, fmt.Sprintf("--days=%d", o.Validity/(24*time.Hour))}
	for _, m := range o.Managers {
		args = append(args, "--manager", m)
	}
	for _, n := range o.Nodes {
		args = append(args, "--node", n.Name+"="+n.IP.String())
	}
	for _, c := range o.Clients {
		args = append(args, "--client", c)
	}
	if o.Force {
		args = append(args, "--force")
	}
	if o.ReuseCA {
		args = append(args, "--reuse-ca")
	}
	return args
}

// FuzzParseCreateArgs feeds NUL-separated argument lists. Accepted options
// must be valid and survive a render/parse round trip; refusals must say
// what was wrong.
func FuzzParseCreateArgs(f *testing.F) {
	for _, seed := range []string{
		"--out\x00d\x00--manager\x00m",
		"--out\x00d\x00--manager\x0010.0.0.2\x00--node\x00n1=10.0.0.5\x00--client\x00alice",
		"--out=d\x00--reuse-ca\x00--node=n=::1",
		"--out\x00d\x00--manager\x00m\x00--node\x00n1",
		"--out\x00d\x00--manager\x00m\x00--days\x00-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		opts, err := ParseCreateArgs(args)
		if err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				require.True(t, strings.HasPrefix(err.Error(), "swarm certs create: "), err.Error())
			}
			return
		}
		require.NoError(t, opts.Validate())
		require.NotEmpty(t, opts.Out)
		for _, n := range opts.Nodes {
			require.NotNil(t, n.IP)
			require.NotEmpty(t, n.Name)
		}
		again, err := ParseCreateArgs(createArgs(opts))
		require.NoError(t, err)
		require.Equal(t, opts, again)
	})
}
