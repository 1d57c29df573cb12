package api_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLabWalkthrough drives the manager over the real multi-engine lab
// (test/lab/lab.sh up; eval "$(test/lab/lab.sh env)"). Container names
// are unique per run and removed at the end, so a shared lab is left as
// it was found.
func TestLabWalkthrough(t *testing.T) {
	engines := os.Getenv("LAB_ENGINES")
	if engines == "" || testing.Short() {
		t.Skip("set LAB_ENGINES (eval \"$(test/lab/lab.sh env)\") to run against the lab")
	}
	if _, err := os.Stat("/usr/local/bin/docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	host := realManager(t, strings.Split(engines, ",")...)
	d := dockerCLI{t: t, host: host, cfg: t.TempDir()}
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e6)
	redis, web := "apit-redis-"+suffix, "apit-web-"+suffix
	t.Cleanup(func() { _, _ = d.run("rm", "-f", redis, web) })
	start := time.Now().Add(-time.Second)

	info := d.must("info")
	assert.Contains(t, info, " Nodes: 4")
	assert.Contains(t, info, "  backend1: 10.77.0.13:2375")

	pull := d.must("pull", "busybox")
	for _, node := range strings.Split(os.Getenv("LAB_NODES"), ",") {
		assert.Contains(t, pull, node+": ", "progress of every node")
	}

	d.must("run", "-d", "--name", redis, "-e", "constraint:model==high-memory", "busybox", "sleep", "600")
	d.must("run", "-d", "--name", web, "-p", "8080", "--link", redis+":db", "busybox", "sleep", "600")
	ps := d.must("ps", "--filter", "node=backend1", "--format", "{{.Names}}|{{.Ports}}")
	assert.Contains(t, ps, "backend1/"+redis+",backend1/"+web+"/db|")
	assert.Regexp(t, `backend1/`+web+`\|10\.77\.0\.13:\d+->8080/tcp`, ps)

	assert.Equal(t, "hello from frontend\n", d.must("run", "--rm", "-e", "constraint:node==frontend", "busybox", "echo", "hello from frontend"))
	assert.Equal(t, "in\n", d.withStdin("in\n", "exec", "-i", redis, "cat"))
	assert.Contains(t, d.inTTY("exec -it "+redis+" tty"), "/dev/pts/")

	out := d.must("events", "--since", fmt.Sprint(start.Unix()), "--until", fmt.Sprint(time.Now().Add(time.Second).Unix()),
		"--filter", "node=backend1", "--filter", "event=start", "--format", "{{.Actor.Attributes.name}}")
	assert.Equal(t, redis+"\n"+web+"\n", out)

	d.must("rm", "-f", redis, web)
	_, err := d.run("inspect", "--type", "container", redis)
	require.Error(t, err)
}
