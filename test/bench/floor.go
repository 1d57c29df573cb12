package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmlab/swarm/test/proc"
)

// nullProxyArg, as the first argument, runs this program as the null
// proxy instead of the benchmark (see serveNullProxy).
const nullProxyArg = "null-proxy"

// serveNullProxy is the floor figure 1 is measured against: a proxy that
// does only the HTTP a manager cannot avoid for one `docker run -d` and
// nothing else. It reads every engine's event stream (without decoding
// it), forwards a create to the engines in turn, and a start to the
// container's engine followed by one inspect, the three calls the manager
// makes, through the same net/http client and server; it schedules
// nothing, keeps no cache and decodes no JSON beyond finding the new
// container's ID. args: the simulator's addrs file and the port to listen
// on. It prints "ready" once every event stream is open.
func serveNullProxy(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: bench %s ADDRS-FILE PORT", nullProxyArg)
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	engines := strings.Fields(string(data))
	if len(engines) == 0 {
		return fmt.Errorf("%s lists no engines", args[0])
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+args[1])
	if err != nil {
		return err
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: 10 * time.Second, DisableCompression: true}}
	var opened sync.WaitGroup
	streamErr := make(chan error, 1)
	for _, addr := range engines {
		opened.Add(1)
		go func() {
			if err := drainEvents(c, "http://"+addr, opened.Done); err != nil {
				select {
				case streamErr <- fmt.Errorf("events of %s: %w", addr, err):
				default:
				}
			}
		}()
	}
	opened.Wait()
	p := &nullProxy{client: c, engines: engines}
	fmt.Println("ready")
	go func() { streamErr <- http.Serve(l, p) }()
	return <-streamErr
}

// drainEvents reads an engine's event stream to its end; opened runs once
// the engine answered the request.
func drainEvents(c *http.Client, base string, opened func()) error {
	resp, err := c.Get(base + apiPrefix + "/events")
	if err != nil {
		opened()
		return err
	}
	defer resp.Body.Close()
	opened()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	buf := make([]byte, 4<<10)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// nullProxy is serveNullProxy's handler.
type nullProxy struct {
	client  *http.Client
	engines []string
	next    atomic.Uint64
	owners  sync.Map // container ID → engine address
}

func (p *nullProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	switch {
	case r.Method == http.MethodPost && path == "/containers/create":
		engine := p.engines[p.next.Add(1)%uint64(len(p.engines))]
		code, body, err := p.call(r.Context(), http.MethodPost, engine, path+"?"+r.URL.RawQuery, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if i := bytes.Index(body, []byte(`"Id":"`)); i >= 0 {
			id := body[i+6:]
			if j := bytes.IndexByte(id, '"'); j > 0 {
				p.owners.Store(string(id[:j]), engine)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write(body)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/start"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/start")
		engine, ok := p.owners.Load(id)
		if !ok {
			http.Error(w, "no such container: "+id, http.StatusNotFound)
			return
		}
		code, body, err := p.call(r.Context(), http.MethodPost, engine.(string), path, nil)
		if err == nil && code == http.StatusNoContent {
			_, _, err = p.call(r.Context(), http.MethodGet, engine.(string), "/containers/"+id+"/json", nil)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write(body)
	default:
		http.Error(w, "the null proxy serves only create and start", http.StatusNotFound)
	}
}

// call makes one engine call and returns its status and body.
func (p *nullProxy) call(ctx context.Context, method, engine, path string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+engine+apiPrefix+path, body)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// floorFigure runs figure 1's load through the null proxy instead of the
// manager, against the simulator sim serving the engines in addrsFile.
func floorFigure(ctx context.Context, o options, sim *proc.Process, addrsFile string) (figure, error) {
	self, err := os.Executable()
	if err != nil {
		return figure{}, err
	}
	port, err := freePort()
	if err != nil {
		return figure{}, err
	}
	out, outW := io.Pipe()
	defer outW.Close()
	np, err := startProc("null proxy", self, []string{nullProxyArg, addrsFile, fmt.Sprint(port)}, outW, o.Log)
	if err != nil {
		return figure{}, err
	}
	defer np.Stop()
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := waitReady(readyCtx, np, out); err != nil {
		return figure{}, err
	}
	meter, err := startCPUMeter(np.PID(), sim.PID())
	if err != nil {
		return figure{}, err
	}
	rate, _, err := createThroughput(ctx, fmt.Sprintf("http://127.0.0.1:%d", port), o.Clients, o.Creates)
	if err != nil {
		return figure{}, fmt.Errorf("create+start through the null proxy: %w", err)
	}
	cpu, err := meter.perItem(o.Creates)
	if err != nil {
		return figure{}, err
	}
	busy, steal, err := meter.machineShares()
	if err != nil {
		return figure{}, err
	}
	return figure{Name: "1f. create+start, null proxy", Value: rate, Unit: "containers/s", Target: "-", Met: true,
		Conditions: fmt.Sprintf("%d engines; %d clients, %d containers, through a proxy that only forwards create, start and one inspect and reads the event streams; CPU per container: null proxy %.2f ms, simulator %.2f ms, clients %.2f ms (%d cores, %.0f%% busy, %.0f%% stolen by the hypervisor)",
			o.Engines, o.Clients, o.Creates, ms(cpu[0]), ms(cpu[1]), ms(cpu[2]), nproc(), 100*busy, 100*steal)}, nil
}
