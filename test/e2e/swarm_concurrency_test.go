package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runAll starts n `docker run` commands through the manager at the same moment and returns
// their results in order; args(i) gives the i-th command's arguments.
func runAll(host string, n int, args func(i int) []string) []Result {
	results := make([]Result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = RunDocker(context.Background(), host, args(i)...)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

func TestConcurrentCreatesThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()

	t.Run("ten runs with one name: exactly one wins", func(t *testing.T) {
		name := UniqueName(t, "same")
		RemoveOnCleanup(t, host, name)
		results := runAll(host, 10, func(int) []string {
			return []string{"run", "-d", "--name", name, "busybox", "sleep", "600"}
		})
		var won []string
		for _, r := range results {
			if r.Err == nil {
				won = append(won, strings.TrimSpace(r.Stdout))
				continue
			}
			assert.Contains(t, r.Stderr, "Conflict", "a loser is told the name is taken: %s", r)
			assert.Contains(t, r.Stderr, name)
		}
		require.Len(t, won, 1, "exactly one of ten concurrent runs with --name %s succeeds", name)

		assert.Equal(t, won[0]+"\n", Docker(t, host, "ps", "-a", "-q", "--no-trunc", "--filter", "name=^/"+name+"$"),
			"one container of that name through the manager")
		holders := 0
		for _, e := range lab.Engines {
			holders += len(strings.Fields(Docker(t, e.Host(), "ps", "-a", "-q", "--filter", "name=^/"+name+"$")))
		}
		assert.Equal(t, 1, holders, "one container of that name on all engines together, asked directly")
	})

	t.Run("concurrent runs publishing 8081: at most one per node", func(t *testing.T) {
		const port = "8081"
		n := 2*len(lab.Engines) + 1
		names := make([]string, n)
		for i := range names {
			names[i] = UniqueName(t, fmt.Sprintf("p%d", i))
		}
		RemoveOnCleanup(t, host, names...)
		results := runAll(host, n, func(i int) []string {
			return []string{"run", "-d", "--name", names[i], "-p", port + ":" + port, "counter", "httpd", "-f", "-p", port}
		})
		perNode := map[string][]string{}
		for i, r := range results {
			if r.Err == nil {
				node := NodeOf(t, m, names[i])
				perNode[node] = append(perNode[node], names[i])
				continue
			}
			assert.Contains(t, r.Stderr, "port "+port, "a refused run names the port: %s", r)
		}
		for node, got := range perNode {
			assert.Len(t, got, 1, "containers publishing %s on %s: %v", port, node, got)
		}
		// Every node had the port free, so the optimistic scheduler should fill each one
		// rather than refuse a run that had somewhere to go.
		assert.Len(t, perNode, len(lab.Engines), "nodes that got a container publishing %s: %v", port, perNode)
		ps := Docker(t, host, "ps", "--format", "{{.Names}} {{.Ports}}")
		for node, got := range perNode {
			e, err := lab.Engine(node)
			require.NoError(t, err)
			assert.Regexp(t, fmt.Sprintf(`(?m)^%s/%s .*\b%s:%s->%s/tcp`, node, got[0], regexp.QuoteMeta(e.IP), port, port), ps,
				"docker ps through the manager shows the port on the node's address")
			assert.Equal(t, 1, strings.Count(Docker(t, e.Host(), "ps", "-q", "--filter", "publish="+port), "\n"),
				"one container publishing %s on %s, asked directly", port, node)
		}
	})
}
