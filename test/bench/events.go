package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fanout is the outcome of the event fan-out figure.
type fanout struct {
	Triggered int           // pause/unpause calls made on the engines
	P50, P99  time.Duration // engine emission → listener read, over all listeners
	Max       time.Duration
	// MinReceived is the fewest triggered events any reading listener got;
	// it must equal Triggered.
	MinReceived int
	// NonReaderDropped is true when the manager ended the non-reading
	// listener's stream; NonReaderGot is how many events it had been sent.
	NonReaderDropped bool
	NonReaderGot     int
}

// listener is one reading /events client, as docker-gen is.
type listener struct {
	lat  []time.Duration
	resp *http.Response
}

// eventFanout measures figure 4. A listener that never reads subscribes
// first and prefill events (pause/unpause of container c0002 of each
// engine, as fast as the engines answer) fill its socket buffers and
// most of its manager-side buffer, so it is stuck but not yet dropped.
// Then n reading listeners subscribe and container c0001 of each engine
// is paused or unpaused directly on the engine (as an operator on a node
// would) every interval, count times: the stuck listener overflows and
// must be dropped during this phase without slowing the others. The
// engine stamps timeNano when it emits an event; everything runs on one
// machine, so the clocks agree.
//
// subscribed, when not nil, runs once the reading listeners are done and
// before they close (the manager still holds their subscriptions).
func eventFanout(ctx context.Context, base string, addrs []string, n, prefill, count int, interval time.Duration, subscribed func() error) (fanout, error) {
	stuck, err := dialNonReader(base)
	if err != nil {
		return fanout{}, err
	}
	defer stuck.Close()
	if err := triggerEvents(ctx, addrs, "c0002", prefill, 0); err != nil {
		return fanout{}, fmt.Errorf("prefill: %w", err)
	}
	c := newClient(n)
	defer c.CloseIdleConnections()
	lis := make([]*listener, n)
	for i := range lis {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+apiPrefix+"/events", nil)
		if err != nil {
			return fanout{}, err
		}
		resp, err := c.Do(req)
		if err != nil {
			closeAll(lis)
			return fanout{}, fmt.Errorf("open listener %d: %w", i, err)
		}
		lis[i] = &listener{resp: resp, lat: make([]time.Duration, 0, count)}
	}
	defer closeAll(lis)

	var wg sync.WaitGroup
	for _, l := range lis {
		wg.Add(1)
		go func() { defer wg.Done(); l.read(count) }()
	}
	if err := triggerEvents(ctx, addrs, "c0001", count, interval); err != nil {
		return fanout{}, err
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(15 * time.Second):
		closeAll(lis) // unblocks the readers; MinReceived tells what was missing
		<-waited
	}
	if subscribed != nil {
		if err := subscribed(); err != nil {
			return fanout{}, err
		}
	}
	res := fanout{Triggered: count, MinReceived: count}
	var all []time.Duration
	for _, l := range lis {
		res.MinReceived = min(res.MinReceived, len(l.lat))
		all = append(all, l.lat...)
	}
	res.P50, res.P99, res.Max = percentile(all, 50), percentile(all, 99), percentile(all, 100)
	res.NonReaderDropped, res.NonReaderGot, err = drainNonReader(stuck)
	return res, err
}

// read records the latency of every pause/unpause event of a c0001
// container until want of them arrived or the stream ends.
func (l *listener) read(want int) {
	br := bufio.NewReaderSize(l.resp.Body, 64<<10)
	for len(l.lat) < want {
		line, err := br.ReadSlice('\n')
		now := time.Now()
		if err != nil {
			return
		}
		if !bytes.Contains(line, []byte(`-c0001"`)) ||
			!bytes.Contains(line, []byte(`"Action":"pause"`)) && !bytes.Contains(line, []byte(`"Action":"unpause"`)) {
			continue
		}
		if t, ok := timeNano(line); ok {
			l.lat = append(l.lat, now.Sub(time.Unix(0, t)))
		}
	}
}

// timeNano pulls "timeNano":N out of an event line without a full decode,
// so 500 listeners cost the benchmark little CPU.
func timeNano(line []byte) (int64, bool) {
	const key = `"timeNano":`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(key):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	t, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return t, err == nil
}

func closeAll(lis []*listener) {
	for _, l := range lis {
		if l != nil {
			l.resp.Body.Close()
		}
	}
}

// dialNonReader subscribes to /events on a connection with the smallest
// receive buffer the kernel allows, and never reads from it.
func dialNonReader(base string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		})
		return errors.Join(err, serr)
	}}
	host := strings.TrimPrefix(base, "http://")
	conn, err := d.Dial("tcp", host)
	if err != nil {
		return nil, fmt.Errorf("non-reading listener: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "GET %s/events HTTP/1.1\r\nHost: %s\r\n\r\n", apiPrefix, host); err != nil {
		conn.Close()
		return nil, fmt.Errorf("non-reading listener: %w", err)
	}
	return conn, nil
}

// drainNonReader finally reads the stuck listener's stream: a dropped
// subscriber's stream ends (final chunk) once the manager can write
// again; one still subscribed keeps waiting for events.
func drainNonReader(conn net.Conn) (dropped bool, got int, err error) {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return false, 0, fmt.Errorf("non-reading listener: read answer: %w", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadSlice('\n')
		if bytes.Contains(line, []byte(`"timeNano":`)) {
			got++
		}
		switch {
		case errors.Is(err, io.EOF):
			return true, got, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return false, got, nil
			}
			return false, got, fmt.Errorf("non-reading listener: %w", err)
		}
	}
}

// triggerEvents pauses, then unpauses, container e<engine>-<suffix> of
// each engine in turn (enginesim makes c0001 and c0002 running), one
// call every interval. With interval 0 the calls go back to back from
// several workers, each owning whole engines so the calls on one
// container stay in order.
func triggerEvents(ctx context.Context, addrs []string, suffix string, count int, interval time.Duration) error {
	c := newClient(8)
	defer c.CloseIdleConnections()
	call := func(k int) error {
		i := k % len(addrs)
		action := "pause"
		if (k/len(addrs))%2 == 1 {
			action = "unpause"
		}
		url := fmt.Sprintf("http://%s%s/containers/e%04d-%s/%s", addrs[i], apiPrefix, i, suffix, action)
		code, body, err := post(ctx, c, url, nil)
		if err != nil {
			return fmt.Errorf("trigger event %d: %w", k, err)
		}
		if code != http.StatusNoContent {
			return fmt.Errorf("trigger event %d: POST %s: status %d: %s", k, url, code, bytes.TrimSpace(body))
		}
		return nil
	}
	if interval == 0 {
		workers := min(8, len(addrs))
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < count && errs[w] == nil && ctx.Err() == nil; k++ {
					if k%len(addrs)%workers == w {
						errs[w] = call(k)
					}
				}
			}()
		}
		wg.Wait()
		return errors.Join(append(errs, ctx.Err())...)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for k := range count {
		if err := call(k); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// overflowBound is how many events surely overflow a subscriber that
// never reads: the manager's socket send buffer can grow to the third
// field of net.ipv4.tcp_wmem (4 MiB by default), an event line is at
// least 450 bytes, and the manager buffers 1,024 more per subscriber.
func overflowBound() int {
	wmem := 4 << 20
	if data, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem"); err == nil {
		if f := strings.Fields(string(data)); len(f) == 3 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				wmem = n
			}
		}
	}
	return wmem/450 + 1024 + 256
}
