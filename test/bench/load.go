package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/blkiodev"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

// newClient returns a client that keeps up to conns connections to one
// host open, as many concurrent docker CLIs would.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        0, // no total cap: triggerEvents talks to 1,000 engines
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}

// post sends an encoded JSON body (nil for none) and returns the answer.
func post(ctx context.Context, c *http.Client, url string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// createBody is the body `docker run -d --name NAME -l bench=1 IMAGE
// CMD...` sends, with env added (e.g. a constraint): the Docker CLI
// encodes the SDK's whole create request, every host config field
// included, about 1.8 KB (TestCreateBodyIsTheCLIs holds it to one
// captured from docker 28.2.2). It is encoded once: the name travels in the
// query, so every container of a figure can send the same bytes, and the
// clients' CPU (measured beside the manager's on the same two cores) is
// not spent encoding by reflection.
func createBody(image string, cmd []string, env ...string) []byte {
	b, err := json.Marshal(cliCreateRequest(image, cmd, env))
	if err != nil {
		panic(err) // the SDK's types always encode
	}
	return b
}

// cliCreateRequest is the create request the Docker CLI builds for
// `docker run -d -l bench=1 IMAGE CMD...` with env: its defaults for
// everything not given (an empty volume and port map, no restart, the
// default network's endpoint, swappiness -1).
func cliCreateRequest(image string, cmd []string, env []string) container.CreateRequest {
	if len(env) == 0 {
		env = nil // the CLI sends null for no -e
	}
	swappiness := int64(-1)
	return container.CreateRequest{
		Config: &container.Config{
			Image: image, Cmd: cmd, Env: env,
			Labels:  map[string]string{"bench": "1"},
			Volumes: map[string]struct{}{},
		},
		HostConfig: &container.HostConfig{
			LogConfig:     container.LogConfig{Config: map[string]string{}},
			NetworkMode:   "default",
			PortBindings:  nat.PortMap{},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			DNS:           []string{}, DNSOptions: []string{}, DNSSearch: []string{},
			Resources: container.Resources{
				BlkioWeightDevice:    []*blkiodev.WeightDevice{},
				BlkioDeviceReadBps:   []*blkiodev.ThrottleDevice{},
				BlkioDeviceWriteBps:  []*blkiodev.ThrottleDevice{},
				BlkioDeviceReadIOps:  []*blkiodev.ThrottleDevice{},
				BlkioDeviceWriteIOps: []*blkiodev.ThrottleDevice{},
				Devices:              []container.DeviceMapping{},
				MemorySwappiness:     &swappiness,
				OomKillDisable:       new(bool),
				PidsLimit:            new(int64),
				Ulimits:              []*container.Ulimit{},
			},
		},
		NetworkingConfig: &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{"default": {}},
		},
	}
}

// runContainer does what `docker run -d` does after its ping: create,
// then start. It returns the new container's ID.
func runContainer(ctx context.Context, c *http.Client, base, name string, body []byte) (string, error) {
	url := base + apiPrefix + "/containers/create"
	if name != "" {
		url += "?name=" + name
	}
	code, data, err := post(ctx, c, url, body)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	if code != http.StatusCreated {
		return "", fmt.Errorf("create %s: status %d: %s", name, code, bytes.TrimSpace(data))
	}
	var created struct{ ID string }
	if err := json.Unmarshal(data, &created); err != nil || created.ID == "" {
		return "", fmt.Errorf("create %s: answer without an ID: %s", name, data)
	}
	code, data, err = post(ctx, c, base+apiPrefix+"/containers/"+created.ID+"/start", nil)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	if code != http.StatusNoContent && code != http.StatusNotModified {
		return "", fmt.Errorf("start %s: status %d: %s", name, code, bytes.TrimSpace(data))
	}
	return created.ID, nil
}

// createThroughput runs total create+start pairs through the manager
// from clients concurrent clients and returns containers per second and
// each pair's latency. Any failed create is an error: a fast wrong answer
// is no result.
func createThroughput(ctx context.Context, base string, clients, total int) (float64, []time.Duration, error) {
	c := newClient(clients)
	defer c.CloseIdleConnections()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	body := createBody("busybox:latest", []string{"sh"})
	lat := make([]time.Duration, total) // each client writes its own slots
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				name := fmt.Sprintf("bench-%06d", i)
				t0 := time.Now()
				if _, err := runContainer(ctx, c, base, name, body); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, nil, firstErr
	}
	return float64(total) / elapsed.Seconds(), lat, nil
}

// listBackToBack lists every container through the manager, one listing
// after another, until ctx ends (as docker-gen does on every event of a
// busy cluster), and returns how many listings finished. A failed listing
// other than by ctx's end is an error.
func listBackToBack(ctx context.Context, base string) (int, error) {
	c := newClient(1)
	defer c.CloseIdleConnections()
	n := 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+apiPrefix+"/containers/json?all=1", nil)
		if err != nil {
			return n, err
		}
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if ctx.Err() != nil {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list containers: %w", err)
		}
		n++
	}
}

// timeGets issues n sequential GETs of path and returns their latencies
// and the last body, which the caller checks for correctness.
func timeGets(ctx context.Context, base, path string, n int) ([]time.Duration, []byte, error) {
	c := newClient(1)
	defer c.CloseIdleConnections()
	lat := make([]time.Duration, 0, n)
	var body []byte
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+apiPrefix+path, nil)
		if err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", path, err)
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if err != nil {
			return nil, nil, fmt.Errorf("GET %s: read: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
		}
	}
	return lat, body, nil
}

// percentile returns the p-th percentile (0-100) of d by nearest rank.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
