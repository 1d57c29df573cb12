package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/swarmlab/swarm/test/fakeengine"
)

// images every simulated engine holds; containers use them in turn.
var images = []string{"busybox:latest", "nginx:1.25", "redis:7", "alpine:3.19"}

// Engine resources, dealt in turn so binpack and spread see differences.
var (
	cpuSizes = []int{2, 4, 8, 16}
	memSizes = []int64{4 << 30, 8 << 30, 16 << 30, 32 << 30}
)

// sim owns the running engines.
type sim struct {
	engines []*fakeengine.Engine
}

// startSim builds every engine with its containers, starts them and
// writes the address file. On error every engine already started is
// stopped again.
func startSim(cfg *config) (*sim, error) {
	s := &sim{engines: make([]*fakeengine.Engine, 0, cfg.Engines)}
	for i := range cfg.Engines {
		e := fakeengine.New(fakeengine.Options{
			Name:         fmt.Sprintf("sim-%04d", i),
			Labels:       labelsFor(cfg.Labels, i),
			NCPU:         cpuSizes[i%len(cpuSizes)],
			MemTotal:     memSizes[i%len(memSizes)],
			Images:       images,
			Latency:      cfg.Latency,
			EventHistory: cfg.EventHistory,
		})
		if err := e.Seed(containerSpecs(i, cfg.PerEngine)...); err != nil {
			s.Close()
			return nil, fmt.Errorf("seed engine %d: %w", i, err)
		}
		if err := listen(e, cfg, i); err != nil {
			s.Close()
			return nil, err
		}
		s.engines = append(s.engines, e)
	}
	if err := s.writeAddrs(cfg.AddrsFile); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func listen(e *fakeengine.Engine, cfg *config, i int) error {
	if cfg.BasePort == 0 {
		if err := e.StartOn(net.JoinHostPort(cfg.Host, "0")); err != nil {
			return fmt.Errorf("engine %d: %w", i, err)
		}
		return nil
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.BasePort+i))
	if err := e.StartOn(addr); err != nil {
		return fmt.Errorf("engine %d on %s: %w (is another enginesim or service using ports %d-%d? pick another --listen base port, "+
			"below 32768 so the range stays out of the kernel's ephemeral ports, or port 0 for any free ports)",
			i, addr, err, cfg.BasePort, cfg.BasePort+cfg.Engines-1)
	}
	return nil
}

// containerSpecs describes engine i's pre-existing containers: names
// unique across the whole simulation, varied images and labels, a fixed
// published port on every fourth, a random one on the next, two thirds
// running.
func containerSpecs(i, n int) []fakeengine.ContainerSpec {
	specs := make([]fakeengine.ContainerSpec, n)
	for j := range specs {
		s := fakeengine.ContainerSpec{
			Name:  fmt.Sprintf("e%04d-c%04d", i, j),
			Image: images[(i+j)%len(images)],
			Labels: map[string]string{
				"app":  "app" + strconv.Itoa(j%7),
				"tier": []string{"front", "back"}[j%2],
				"team": "team" + strconv.Itoa(i%5),
			},
			Running: j%3 != 0,
		}
		switch j % 4 {
		case 0:
			s.Ports = []string{strconv.Itoa(10000+j) + ":80"}
		case 1:
			s.Ports = []string{"8080"}
		}
		specs[j] = s
	}
	return specs
}

// writeAddrs writes the file atomically so a manager watching it never
// reads half a list.
func (s *sim) writeAddrs(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".enginesim-*")
	if err != nil {
		return fmt.Errorf("--addrs-file %s: %w", path, err)
	}
	_ = tmp.Chmod(0o644) // readable by a manager running as another user
	w := bufio.NewWriter(tmp)
	for _, e := range s.engines {
		fmt.Fprintln(w, e.Addr())
	}
	err = errors.Join(w.Flush(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("--addrs-file %s: %w", path, err)
	}
	return nil
}

// Close stops every engine. Idempotent.
func (s *sim) Close() {
	for _, e := range s.engines {
		e.Close()
	}
}
