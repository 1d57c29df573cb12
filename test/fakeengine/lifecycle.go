package fakeengine

import (
	"encoding/binary"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

// A transition changes one container's state and emits the events dockerd
// emits for it, in dockerd's order. Callers hold e.mu.
type transition func(c *ctr, q url.Values) error

// lifecycle serves a transition on /containers/{id}/...: 204 on success.
func (e *Engine) lifecycle(fn transition) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		c, err := e.findLocked(r.PathValue("id"))
		if err == nil {
			err = fn(c, r.URL.Query())
		}
		e.mu.Unlock()
		if err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (c *ctr) alive() bool {
	return c.state == container.StateRunning || c.state == container.StatePaused
}

// startLocked: network connect per network, then start.
func (e *Engine) startLocked(c *ctr, _ url.Values) error {
	switch c.state {
	case container.StateRunning:
		return errNotModified
	case container.StatePaused:
		return errf(http.StatusConflict, "cannot start a paused container, try unpause instead")
	}
	if err := e.bindPortsLocked(c); err != nil {
		c.errMsg = err.Error()
		return err
	}
	// As dockerd: networks are connected first, then StartedAt is taken
	// and the process runs, then start is logged.
	if len(c.nets) > 0 {
		c.ip = e.allocIPLocked(e.networks[c.nets[0]])
	}
	e.netEventsLocked(c, events.ActionConnect)
	c.state = container.StateRunning
	c.startedAt = time.Now().UTC()
	c.pid = 1000 + int(e.seq+e.published)%30000
	c.exitCode, c.errMsg = 0, ""
	e.emitLocked(events.ContainerEventType, events.ActionStart, c.id, e.attrs(c))
	return nil
}

// stopLocked: kill (SIGTERM), die, network disconnect, stop.
func (e *Engine) stopLocked(c *ctr, _ url.Values) error {
	if !c.alive() {
		return errNotModified
	}
	e.emitLocked(events.ContainerEventType, events.ActionKill, c.id, e.attrs(c, "signal", "15"))
	e.dieLocked(c, 0)
	e.emitLocked(events.ContainerEventType, events.ActionStop, c.id, e.attrs(c))
	e.autoRemoveLocked(c)
	return nil
}

// killLocked: kill with the signal, then die and disconnect if the signal
// ends the process (KILL, TERM, INT, QUIT); other signals only log the kill.
func (e *Engine) killLocked(c *ctr, q url.Values) error {
	sig, err := parseSignal(q.Get("signal"))
	if err != nil {
		return err
	}
	if c.state != container.StateRunning {
		if c.state == container.StatePaused {
			return errf(http.StatusConflict, "Cannot kill container: %s: Container %s is paused. Unpause the container before stopping or killing", c.name, c.id)
		}
		return errf(http.StatusConflict, "Cannot kill container: %s: Container %s is not running", c.name, c.id)
	}
	e.emitLocked(events.ContainerEventType, events.ActionKill, c.id, e.attrs(c, "signal", strconv.Itoa(sig)))
	switch sig {
	case 2, 3, 9, 15:
		e.dieLocked(c, 128+sig)
		e.autoRemoveLocked(c)
	}
	return nil
}

// restartLocked: the stop sequence if it runs, then the start sequence, then restart.
func (e *Engine) restartLocked(c *ctr, q url.Values) error {
	if c.alive() {
		if err := e.stopLocked(c, q); err != nil {
			return err
		}
		if c.removed {
			return nil
		}
	}
	if err := e.startLocked(c, q); err != nil {
		return err
	}
	e.emitLocked(events.ContainerEventType, events.ActionRestart, c.id, e.attrs(c))
	return nil
}

func (e *Engine) pauseLocked(c *ctr, _ url.Values) error {
	switch c.state {
	case container.StatePaused:
		return errf(http.StatusConflict, "Container %s is already paused", c.id)
	case container.StateRunning:
	default:
		return errf(http.StatusConflict, "Container %s is not running", c.id)
	}
	c.state = container.StatePaused
	e.emitLocked(events.ContainerEventType, events.ActionPause, c.id, e.attrs(c))
	return nil
}

func (e *Engine) unpauseLocked(c *ctr, _ url.Values) error {
	if c.state != container.StatePaused {
		return errf(http.StatusConflict, "Container %s is not paused", c.id)
	}
	c.state = container.StateRunning
	e.emitLocked(events.ContainerEventType, events.ActionUnPause, c.id, e.attrs(c))
	return nil
}

// renameLocked: rename, with the old name (with "/") as oldName.
func (e *Engine) renameLocked(c *ctr, q url.Values) error {
	name := strings.TrimPrefix(q.Get("name"), "/")
	switch {
	case name == "":
		return errf(http.StatusBadRequest, "Neither old nor new names may be empty")
	case !validName.MatchString(name):
		return errf(http.StatusBadRequest, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	case name == c.name:
		return errf(http.StatusBadRequest, "Renaming a container with the same name as its current name")
	}
	if other, taken := e.byName[name]; taken {
		return errf(http.StatusConflict, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other.id)
	}
	old := c.name
	delete(e.byName, old)
	c.name = name
	e.byName[name] = c
	e.emitLocked(events.ContainerEventType, events.ActionRename, c.id, e.attrs(c, "oldName", "/"+old))
	return nil
}

// removeLocked: for a live container with force, kill (SIGKILL), die and
// disconnect first; then destroy.
func (e *Engine) removeLocked(c *ctr, force bool) error {
	if c.alive() {
		if !force {
			return errf(http.StatusConflict, "cannot remove container \"/%s\": container is %s: stop the container before removing or force remove", c.name, c.state)
		}
		e.emitLocked(events.ContainerEventType, events.ActionKill, c.id, e.attrs(c, "signal", "9"))
		e.dieLocked(c, 137)
	}
	delete(e.containers, c.id)
	delete(e.byName, c.name)
	if len(c.links) > 0 {
		e.linked--
	}
	c.removed = true
	e.emitLocked(events.ContainerEventType, events.ActionDestroy, c.id, e.attrs(c))
	return nil
}

// dieLocked ends the container's process: die, then network disconnect.
func (e *Engine) dieLocked(c *ctr, code int) {
	c.state = container.StateExited
	c.exitCode = code
	c.finishedAt = time.Now().UTC()
	c.pid = 0
	c.exits++
	e.releasePortsLocked(c)
	e.emitLocked(events.ContainerEventType, events.ActionDie, c.id, e.attrs(c, "exitCode", strconv.Itoa(code)))
	e.netEventsLocked(c, events.ActionDisconnect)
	c.ip = ""
}

// autoRemoveLocked removes a --rm container that just exited.
func (e *Engine) autoRemoveLocked(c *ctr) {
	if c.host.autoRemove && !c.removed && !c.alive() {
		_ = e.removeLocked(c, false)
	}
}

func (e *Engine) netEventsLocked(c *ctr, action events.Action) {
	for _, id := range c.nets {
		n := e.networks[id]
		e.emitLocked(events.NetworkEventType, action, id, map[string]string{
			"container": c.id, "name": n.name, "type": n.driver,
		})
	}
}

var signals = map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15}

func parseSignal(s string) (int, error) {
	if s == "" {
		return 9, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return n, nil
	}
	if n, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return n, nil
	}
	return 0, errf(http.StatusBadRequest, "Invalid signal: %s", s)
}

func (e *Engine) removeContainer(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	c, err := e.findLocked(r.PathValue("id"))
	if err == nil {
		err = e.removeLocked(c, boolParam(r, "force"))
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// waitContainer serves POST /containers/{id}/wait. Like dockerd it sends the
// headers at once, so the client knows the wait is registered, and the body
// when the condition holds. It blocks a request goroutine, never a container one.
func (e *Engine) waitContainer(w http.ResponseWriter, r *http.Request) {
	cond := r.URL.Query().Get("condition")
	switch cond {
	case "":
		cond = string(container.WaitConditionNotRunning)
	case string(container.WaitConditionNotRunning), string(container.WaitConditionNextExit), string(container.WaitConditionRemoved):
	default:
		writeError(w, errf(http.StatusBadRequest, "invalid condition: %q: use not-running, next-exit or removed", cond))
		return
	}
	e.mu.Lock()
	c, err := e.findLocked(r.PathValue("id"))
	var exits int
	if err == nil {
		exits = c.exits
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	for {
		e.mu.Lock()
		var done bool
		switch container.WaitCondition(cond) {
		case container.WaitConditionNotRunning:
			done = !c.alive()
		case container.WaitConditionNextExit:
			done = c.exits > exits
		case container.WaitConditionRemoved:
			done = c.removed
		}
		code, changed, down := c.exitCode, e.changed, e.down
		e.mu.Unlock()
		if done {
			writeBody(w, container.WaitResponse{StatusCode: int64(code)})
			return
		}
		select {
		case <-changed:
		case <-down:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// logs answers a fixed line in the multiplexed stdout framing (no TTY).
func (e *Engine) logs(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	c, err := e.findLocked(r.PathValue("id"))
	var line []byte
	if err == nil {
		line = []byte("fake engine: container " + c.name + " has no real process\n")
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	frame := make([]byte, 8, 8+len(line))
	frame[0] = 1 // stdout
	binary.BigEndian.PutUint32(frame[4:], uint32(len(line)))
	w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(frame, line...))
}

func (e *Engine) top(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	c, err := e.findLocked(r.PathValue("id"))
	var resp container.TopResponse
	if err == nil && !c.alive() {
		err = errf(http.StatusConflict, "Container %s is not running", c.id)
	}
	if err == nil {
		resp = container.TopResponse{
			Titles:    []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
			Processes: [][]string{{"root", strconv.Itoa(c.pid), "1", "0", c.startedAt.Format("15:04"), "?", "00:00:00", c.command()}},
		}
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Engine) changes(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	_, err := e.findLocked(r.PathValue("id"))
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, []container.FilesystemChange{})
}
