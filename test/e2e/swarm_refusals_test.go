package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertNothingLeft checks that a refused create left no trace: no container named name
// through the manager or on any engine, the engines hold the same containers as before, and
// the name can be taken at once.
func assertNothingLeft(t *testing.T, lab *Lab, m *Manager, name string, before map[string][]string) {
	t.Helper()
	assert.Empty(t, Docker(t, m.Host(), "ps", "-a", "-q", "--filter", "name="+name), "docker ps -a through the manager")
	assert.Equal(t, before, EngineContainers(t, lab), "containers on the engines, asked directly")
	for _, e := range lab.Engines {
		assert.Empty(t, Docker(t, e.Host(), "ps", "-a", "-q", "--filter", "name="+name), "docker ps -a on %s", e.Name)
	}
	RemoveOnCleanup(t, m.Host(), name)
	r := RunDocker(context.Background(), m.Host(), "create", "--name", name, "busybox", "true")
	assert.NoError(t, r.Err, "the refused name is free again at once: %s", r)
}

// createStatus posts a create straight to the manager and returns the status and message,
// which the CLI hides behind its exit code.
func createStatus(t *testing.T, m *Manager, name string, env ...string) (int, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "Env": env})
	require.NoError(t, err)
	u := "http://" + m.Addr + "/v1.41/containers/create?name=" + url.QueryEscape(name)
	resp, err := directHTTP.Post(u, "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var msg struct{ Message string }
	require.NoError(t, json.Unmarshal(data, &msg), "the error body is JSON: %s", data)
	return resp.StatusCode, msg.Message
}

func TestRefusals(t *testing.T) {
	lab, m := NeedManager(t)
	host := m.Host()

	t.Run("impossible constraint", func(t *testing.T) {
		name := UniqueName(t, "gpu")
		before := EngineContainers(t, lab)
		r := RunDocker(context.Background(), host, "run", "-d", "--name", name, "--env", "constraint:model==gpu", "busybox", "true")
		require.Error(t, r.Err, "%s", r)
		assert.Equal(t, 125, r.ExitCode(), "docker run's exit code for a daemon refusal")
		assert.Contains(t, r.Stderr, "Unable to find a node that satisfies the following conditions")
		assert.Contains(t, r.Stderr, "[model==gpu]")
		code, msg := createStatus(t, m, name, "constraint:model==gpu")
		assert.Equal(t, http.StatusInternalServerError, code, "classic swarm answered no-fit with 500: %s", msg)
		assertNothingLeft(t, lab, m, name, before)
	})

	t.Run("second port 80 on frontend", func(t *testing.T) {
		first := UniqueName(t, "proxy")
		RemoveOnCleanup(t, host, first)
		Docker(t, host, "run", "-d", "--name", first, "-p", "80:80", "--env", "constraint:public==yes", "counter")
		require.Equal(t, "frontend", NodeOf(t, m, first))

		name := UniqueName(t, "proxy2")
		before := EngineContainers(t, lab)
		r := RunDocker(context.Background(), host, "run", "-d", "--name", name, "-p", "80:80", "--env", "constraint:public==yes", "counter")
		require.Error(t, r.Err, "%s", r)
		assert.Contains(t, r.Stderr, "Unable to find a node that satisfies the following conditions")
		assert.Contains(t, r.Stderr, "port 80")
		assert.Contains(t, r.Stderr, "[public==yes]")
		assertNothingLeft(t, lab, m, name, before)
	})

	t.Run("malformed expression", func(t *testing.T) {
		const expr = "model=high-memory" // one '=' where '==' is meant: the commonest typo
		name := UniqueName(t, "typo")
		before := EngineContainers(t, lab)
		r := RunDocker(context.Background(), host, "run", "-d", "--name", name, "--env", "constraint:"+expr, "busybox", "true")
		require.Error(t, r.Err, "%s", r)
		assert.Contains(t, r.Stderr, `"`+expr+`"`, "the message names the expression")
		code, msg := createStatus(t, m, name, "constraint:"+expr)
		assert.Equal(t, http.StatusBadRequest, code, msg)
		assert.Contains(t, msg, expr)
		assert.Contains(t, msg, "==", "the message says what to write instead")
		assertNothingLeft(t, lab, m, name, before)
	})
}
