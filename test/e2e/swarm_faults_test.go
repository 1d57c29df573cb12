package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventLog collects `docker events --format '{{json .}}'` lines from a listener that stays
// connected to the manager for a whole test.
type eventLog struct {
	mu     sync.Mutex
	seen   map[string]map[string]bool // container ID → actions
	engine []string                   // "engine_disconnect backend2", …
	lines  int
}

type eventLine struct {
	Type, Action string
	Actor        struct {
		ID         string
		Attributes map[string]string
	}
}

func (l *eventLog) add(line string) error {
	var ev eventLine
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		return fmt.Errorf("event line %q: %w", line, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	switch ev.Type {
	case "container":
		if l.seen[ev.Actor.ID] == nil {
			l.seen[ev.Actor.ID] = map[string]bool{}
		}
		l.seen[ev.Actor.ID][ev.Action] = true
	case "engine":
		l.engine = append(l.engine, ev.Action+" "+ev.Actor.Attributes["name"])
	}
	return nil
}

// missing lists the actions of id the listener has not delivered yet.
func (l *eventLog) missing(id string, actions ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range actions {
		if !l.seen[id][a] {
			out = append(out, a)
		}
	}
	return out
}

func (l *eventLog) engineEvents() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.engine...)
}

// listen starts `docker events` through the manager; it runs until the test ends.
func listen(t *testing.T, host string) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := DockerCmd(ctx, host, "events", "--since", strconv.FormatInt(time.Now().Unix(), 10), "--format", "{{json .}}")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	log := &eventLog{seen: map[string]map[string]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if err := log.add(sc.Text()); err != nil {
				t.Errorf("%v", err)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = cmd.Wait()
	})
	return log
}

func TestEngineFailureThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	ctx := context.Background()
	victim, err := lab.Engine("backend2")
	require.NoError(t, err)
	c := Client(t, host)
	events := listen(t, host)

	// A container on the victim that should be back in docker ps after the restart.
	survivor := UniqueName(t, "survivor")
	RemoveOnCleanup(t, host, survivor)
	Docker(t, host, "run", "-d", "--name", survivor, "--restart", "always", "--env", "constraint:node==backend2", "redis")
	require.Equal(t, victim.Name, NodeOf(t, m, survivor))

	require.NoError(t, lab.StopEngine(ctx, victim.Name))
	stopped := time.Now()
	t.Cleanup(func() {
		// Leave the lab whole for the tests after this one, even if this one failed.
		if err := lab.StartEngine(ctx, victim.Name); err != nil { // a no-op when it answers already
			t.Logf("restart %s: %v", victim.Name, err)
		}
	})

	t.Run("node turns unhealthy within the configured time", func(t *testing.T) {
		var status string
		ok := assert.Eventually(t, func() bool {
			ci, err := ReadCluster(ctx, c)
			if err != nil {
				return false
			}
			n, _ := ci.Node(victim.Name)
			status = n.Status
			return status == "Unhealthy"
		}, UnhealthyWithin(), 100*time.Millisecond, "status of %s (last %q)", victim.Name, status)
		require.True(t, ok, "manager log:\n%s", m.LogTail(20))
		t.Logf("%s unhealthy %s after its engine stopped", victim.Name, time.Since(stopped).Round(100*time.Millisecond))
		out := Docker(t, host, "info")
		assert.Regexp(t, `(?m)^   └ Error: .+`, out, "the unhealthy node's error is shown")

		assert.NotContains(t, psNames(t, host), victim.Name+"/"+survivor, "containers of a down node are hidden from docker ps")
		all := Docker(t, host, "ps", "-a", "--filter", "name="+survivor, "--format", "{{.Names}} {{.Status}}")
		assert.Equal(t, victim.Name+"/"+survivor+" Host Down\n", all)
	})

	// Containers started and stopped on the other nodes during the outage: none may land on
	// the victim, and the listener must get every one of their events.
	var during []string
	t.Run("new containers never land on the down node", func(t *testing.T) {
		// Long-running, so spread sees the healthy nodes fill up: after three runs every
		// node, the down one included, holds one container and only health keeps it out.
		for i := range 6 {
			name := UniqueName(t, fmt.Sprintf("during%d", i))
			RemoveOnCleanup(t, host, name)
			r := RunDocker(ctx, host, "run", "-d", "--name", name, "busybox", "sleep", "600")
			if !assert.NoError(t, r.Err, "%s", r) {
				continue
			}
			during = append(during, strings.TrimSpace(r.Stdout))
			assert.NotEqual(t, victim.Name, NodeOf(t, m, name), "run %d placed on the down node", i)
		}
		Docker(t, host, append([]string{"rm", "-f"}, during...)...)
	})

	t.Run("node comes back healthy with its containers", func(t *testing.T) {
		require.NoError(t, lab.StartEngine(ctx, victim.Name))
		assert.Eventually(t, func() bool {
			ci, err := ReadCluster(ctx, c)
			if err != nil {
				return false
			}
			n, _ := ci.Node(victim.Name)
			return n.Status == "Healthy"
		}, UnhealthyWithin(), 100*time.Millisecond, "%s healthy again", victim.Name)
		assert.Eventually(t, func() bool {
			r := RunDocker(ctx, host, "ps", "--format", "{{.Names}}")
			return r.Err == nil && strings.Contains(r.Stdout, victim.Name+"/"+survivor+"\n")
		}, 20*time.Second, 200*time.Millisecond, "the restarted node's container is back in docker ps")
	})

	t.Run("no event lost during the outage", func(t *testing.T) {
		require.NotEmpty(t, during)
		for _, id := range during {
			var miss []string
			ok := assert.Eventually(t, func() bool {
				miss = events.missing(id, "create", "start", "kill", "die", "destroy")
				return len(miss) == 0
			}, 10*time.Second, 100*time.Millisecond)
			assert.True(t, ok, "container %.12s: events %v never delivered", id, miss)
		}
		assert.Eventually(t, func() bool {
			got := events.engineEvents()
			return slices.Contains(got, "engine_disconnect "+victim.Name) &&
				(slices.Contains(got, "engine_reconnect "+victim.Name) || slices.Contains(got, "engine_connect "+victim.Name))
		}, 10*time.Second, 100*time.Millisecond, "the manager's own engine events for %s: %v", victim.Name, events.engineEvents())
	})
}

// `docker run -e reschedule:on-node-failure` (classic Swarm's rescheduling policy): when the
// container's node fails, the manager creates it again, with its name and options, on another
// node and starts it; when the node comes back, the original is removed from it, so the name
// is listed once. A container without the policy stays where it was.
func TestRescheduleOnNodeFailureThroughManager(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()
	ctx := context.Background()
	mover, stayer := UniqueName(t, "mover"), UniqueName(t, "stayer")
	RemoveOnCleanup(t, host, mover, stayer)
	Docker(t, host, "run", "-d", "--name", mover, "-e", "reschedule:on-node-failure", "-e", "constraint:public==no",
		"-l", "app=web", "busybox", "sleep", "600")
	from := NodeOf(t, m, mover)
	Docker(t, host, "run", "-d", "--name", stayer, "-e", "constraint:node=="+from, "busybox", "sleep", "600")
	victim, err := lab.Engine(from)
	require.NoError(t, err)

	require.NoError(t, lab.StopEngine(ctx, from))
	t.Cleanup(func() {
		if err := lab.StartEngine(ctx, from); err != nil { // a no-op when it answers already
			t.Logf("restart %s: %v", from, err)
		}
	})
	running := func(name string) string {
		return strings.TrimSpace(Docker(t, host, "ps", "--filter", "name="+name, "--format", "{{.Names}} {{.Status}}"))
	}
	var now string
	require.Eventually(t, func() bool {
		now = running(mover)
		return strings.Contains(now, " Up ") && !strings.HasPrefix(now, from+"/")
	}, UnhealthyWithin()+20*time.Second, 200*time.Millisecond, "created again and running on another node (last %q); manager log:\n%s", now, m.LogTail(20))
	to := NodeOf(t, m, mover)
	assert.Regexp(t, `rescheduled container.*name=`+mover+` from=`+from+` to=`+to, m.LogTail(200), "the manager's log says what moved where")
	assert.Equal(t, "web", strings.TrimSpace(Docker(t, host, "inspect", "-f", `{{index .Config.Labels "app"}}`, mover)), "with its options")
	toEngine, err := lab.Engine(to)
	require.NoError(t, err)
	assert.NotEqual(t, "yes", toEngine.Labels["public"], "its constraint still holds")
	assert.Contains(t, Docker(t, host, "ps", "-a", "--filter", "name="+stayer, "--format", "{{.Names}} {{.Status}}"),
		from+"/"+stayer+" Host Down", "no policy: it stays on the down node")

	require.NoError(t, lab.StartEngine(ctx, from))
	require.Eventually(t, func() bool {
		return strings.TrimSpace(Docker(t, victim.Host(), "ps", "-aq", "--filter", "name="+mover)) == ""
	}, UnhealthyWithin()+20*time.Second, 200*time.Millisecond, "the original is removed from %s once it is back", from)
	assert.NotEmpty(t, strings.TrimSpace(Docker(t, victim.Host(), "ps", "-aq", "--filter", "name="+stayer)), "the container without the policy is kept")
	all := strings.Fields(Docker(t, host, "ps", "-a", "--filter", "name="+mover, "--format", "{{.Names}}"))
	assert.Equal(t, []string{to + "/" + mover}, all, "listed once, on its new node")
}
