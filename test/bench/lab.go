package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/system"
)

// labLock is the lock test/e2e holds for a whole run; holding it too
// means the benchmark never shares (or tears down) engines a test uses.
const labLock = "/run/swarmlab.e2e.lock"

// labFigure measures figure 6: `docker run -d` (ping, create, start)
// through the manager versus the same calls straight to the same real
// engine, interleaved so both see the same engine state. It brings the
// lab up when it is down and takes it down again; a lab found running is
// used and left running.
func labFigure(ctx context.Context, o options) (figure, error) {
	if os.Geteuid() != 0 {
		return figure{}, errors.New("--lab needs root: test/lab starts dockerd in network namespaces")
	}
	root, err := moduleRoot()
	if err != nil {
		return figure{}, err
	}
	script := filepath.Join(root, "test", "lab", "lab.sh")
	unlock, err := lockLab(ctx)
	if err != nil {
		return figure{}, err
	}
	defer unlock()
	if exec.CommandContext(ctx, script, "status").Run() != nil {
		if out, err := exec.CommandContext(ctx, script, "up").CombinedOutput(); err != nil {
			return figure{}, fmt.Errorf("lab.sh up: %w\n%s", err, out)
		}
		defer func() { _ = exec.Command(script, "down").Run() }()
	}
	out, err := exec.CommandContext(ctx, script, "env").Output()
	if err != nil {
		return figure{}, fmt.Errorf("lab.sh env: %w", err)
	}
	engines := labEngines(out)
	if len(engines) == 0 {
		return figure{}, fmt.Errorf("lab.sh env printed no LAB_ENGINES:\n%s", out)
	}
	mgr, base, _, err := startManager(o, "nodes://"+strings.Join(engines, ","))
	if err != nil {
		return figure{}, err
	}
	defer mgr.Stop()
	c := newClient(2)
	defer c.CloseIdleConnections()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := waitHealthy(wctx, c, base, mgr, len(engines), -1); err != nil {
		return figure{}, err
	}
	direct := "http://" + engines[0]
	var info system.Info
	if err := getJSON(ctx, c, direct+apiPrefix+"/info", &info); err != nil {
		return figure{}, fmt.Errorf("engine %s: %w", engines[0], err)
	}
	viaMgr, viaEngine, err := runPairs(ctx, c, base, direct, info.Name, o.LabRuns)
	if err != nil {
		return figure{}, err
	}
	var ratios []float64
	for i := range viaMgr {
		ratios = append(ratios, float64(viaMgr[i])/float64(viaEngine[i]))
	}
	slices.Sort(ratios)
	mMgr, mEng := percentile(viaMgr, 50), percentile(viaEngine, 50)
	ratio := float64(mMgr) / float64(mEng)
	return figure{Name: "6. docker run -d manager/direct", Value: ratio, Unit: "ratio", Target: "≤ 1.05", Met: ratio <= 1.05,
		Conditions: fmt.Sprintf("real engine %s (%s) on test/lab; %d interleaved pairs of ping+create+start; median %.2f ms via manager, %.2f ms direct; median of pair ratios %.3f",
			info.Name, engines[0], o.LabRuns, ms(mMgr), ms(mEng), ratios[len(ratios)/2])}, nil
}

// runPairs times n runs through the manager (pinned to node by a
// constraint) and n straight to the engine, alternating which goes first,
// and removes every container it made.
func runPairs(ctx context.Context, c *http.Client, base, direct, node string, n int) (viaMgr, viaEngine []time.Duration, err error) {
	var made []string
	defer func() {
		for _, id := range made {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodDelete, direct+apiPrefix+"/containers/"+id+"?force=1", nil)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	one := func(target, name string, env ...string) (time.Duration, error) {
		body := createBody("busybox", []string{"sleep", "60"}, env...)
		t0 := time.Now()
		if err := ping(ctx, c, target); err != nil {
			return 0, err
		}
		id, err := runContainer(ctx, c, target, name, body)
		if err != nil {
			return 0, err
		}
		d := time.Since(t0)
		made = append(made, id)
		return d, nil
	}
	stamp := time.Now().Unix()
	for i := range n {
		var dm, de time.Duration
		mgrRun := func() (err error) {
			dm, err = one(base, fmt.Sprintf("lab-m-%d-%d", stamp, i), "constraint:node=="+node)
			return err
		}
		engRun := func() (err error) {
			de, err = one(direct, fmt.Sprintf("lab-d-%d-%d", stamp, i))
			return err
		}
		first, second := mgrRun, engRun
		if i%2 == 1 {
			first, second = engRun, mgrRun
		}
		if err := errors.Join(first(), second()); err != nil {
			return nil, nil, fmt.Errorf("run pair %d: %w", i, err)
		}
		viaMgr, viaEngine = append(viaMgr, dm), append(viaEngine, de)
	}
	return viaMgr, viaEngine, nil
}

func ping(ctx context.Context, c *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("ping %s: %w", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping %s: status %d", base, resp.StatusCode)
	}
	return nil
}

// labEngines reads LAB_ENGINES=a:2375,b:2375 from `lab.sh env`.
func labEngines(env []byte) []string {
	sc := bufio.NewScanner(bytes.NewReader(env))
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "export ")
		if v, ok := strings.CutPrefix(line, "LAB_ENGINES="); ok {
			return strings.Split(strings.Trim(v, `"'`), ",")
		}
	}
	return nil
}

// lockLab waits (up to ten minutes) for the run lock test/e2e uses.
func lockLab(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(labLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", labLock, err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s (another lab user is running): %w", labLock, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
