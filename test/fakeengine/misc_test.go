package fakeengine

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLinksPublishAllAndExtras(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	_, err := e.RunOutside("db", "busybox", nil)
	require.NoError(t, err)
	_, err = e.AddContainer(ContainerSpec{Name: "web", Image: "nginx", Links: []string{"db:database"}, PublishAll: true, Running: true})
	require.NoError(t, err)

	list, err := cli.ContainerList(ctx, container.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{"/db", "/web/database"}, list[1].Names, "link aliases are names of the target")
	require.Len(t, list[0].Ports, 1, "-P publishes the image's EXPOSE 80")
	assert.Equal(t, uint16(80), list[0].Ports[0].PrivatePort)
	assert.GreaterOrEqual(t, list[0].Ports[0].PublicPort, uint16(32768))

	web, err := cli.ContainerInspect(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, []string{"/db:/web/database"}, web.HostConfig.Links)
	require.NoError(t, e.RenameContainer("web", "front"))
	db, err := cli.ContainerInspect(ctx, "db")
	require.NoError(t, err)
	assert.Equal(t, "/db", db.Name)
	list, err = cli.ContainerList(ctx, container.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"/db", "/front/database"}, list[1].Names, "aliases follow a rename of the parent")

	rc, err := cli.ContainerLogs(ctx, "db", container.LogsOptions{ShowStdout: true})
	require.NoError(t, err)
	var out, errOut strings.Builder
	_, err = stdcopy.StdCopy(&out, &errOut, rc)
	require.NoError(t, err)
	_ = rc.Close()
	assert.Contains(t, out.String(), "db")
	top, err := cli.ContainerTop(ctx, "db", nil)
	require.NoError(t, err)
	assert.Equal(t, "PID", top.Titles[1])
	changes, err := cli.ContainerDiff(ctx, "db")
	require.NoError(t, err)
	assert.Empty(t, changes)
}

func TestOldClientVersion(t *testing.T) {
	e := startEngine(t, Options{})
	_, err := e.RunOutside("web", "busybox", nil)
	require.NoError(t, err)
	cli, err := client.NewClientWithOpts(client.WithHost(e.URL()), client.WithVersion("1.24"))
	require.NoError(t, err)
	defer cli.Close()
	list, err := cli.ContainerList(ctxT(t), container.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "/web", list[0].Names[0])
}

func TestStopCutsEventStreams(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	_, errs := cli.Events(ctxT(t), events.ListOptions{})
	require.Eventually(t, func() bool { return e.EventStreams() == 1 }, 5*time.Second, time.Millisecond)
	e.Stop()
	err := <-errs
	require.Error(t, err)
	assert.NotErrorIs(t, err, io.EOF, "the stream breaks; it does not end cleanly")
	require.NoError(t, e.Restart())
	_, err = cli.Ping(ctxT(t))
	require.NoError(t, err)
}
