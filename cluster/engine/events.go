package engine

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/swarmlab/swarm/pki"
)

// streamReadBuffer is the read buffer of an event stream's connection, and
// of its event decoder's line reader. Events are a few hundred bytes, so a
// small one suffices; longer header lines and events still parse (the
// decoder pieces long lines together).
const streamReadBuffer = 512

// errStreamEnded is why a stream the engine closed cleanly ended.
var errStreamEnded = errors.New("the engine closed the stream")

// Events calls opened once the engine has answered the request, so that
// every later event reaches fn, then streams the engine's events from
// since to fn, in stream order, and blocks until the stream ends: it returns ctx.Err() once ctx ends,
// and otherwise an error saying why the stream broke (never nil). The
// engine replays events at exactly since, so callers dedupe; a zero since
// streams only new events.
//
// fn runs on the calling goroutine, which is also the one reading the
// connection: it must return quickly, because an engine drops subscribers
// that fall behind. The stream has a connection of its own, not one of the
// transport's, so once open it costs no goroutine besides the caller; opening it is
// bounded by Options.Timeout (an engine that never answers fails), reading
// it is not.
func (e *Engine) Events(ctx context.Context, since time.Time, opened func(), fn func(events.Message)) error {
	body, closeConn, err := e.openStream(ctx, since)
	if err != nil {
		return err
	}
	defer closeConn()
	opened()
	return e.readStream(ctx, body, fn)
}

// readStream decodes events from body to fn until it fails. The calling
// goroutine spends the stream's life parked in a read under this frame:
// the opening, its error wrapping and its goroutine are in openStream, so
// that the parked stack stays small enough to shrink (see cluster.stream).
//
//go:noinline
func (e *Engine) readStream(ctx context.Context, body io.Reader, fn func(events.Message)) error {
	dec := newEventDecoder(body)
	for {
		m := new(events.Message)
		if err := dec.decode(m); err != nil {
			if errors.Is(err, io.EOF) {
				err = errStreamEnded
			}
			return e.streamErr(ctx, "event stream", err)
		}
		deliver(fn, m)
	}
}

// deliver calls fn with *m from a frame of its own: the copy of m that
// fn's call needs would otherwise take 150 bytes of readStream's frame.
//
//go:noinline
func deliver(fn func(events.Message), m *events.Message) { fn(*m) }

// openStream opens the event stream from since on a goroutine of its own
// (version negotiation through the SDK, dialing, a TLS handshake): that
// needs a deep stack, and the caller's stack, which then blocks on the
// stream for days, would keep that size. At 1,000 engines that was 4 MiB
// of stacks.
//
//go:noinline
func (e *Engine) openStream(ctx context.Context, since time.Time) (io.Reader, func(), error) {
	type openResult struct {
		body      io.Reader
		closeConn func()
		err       error
	}
	ch := make(chan openResult, 1)
	go func() {
		cctx, cancel := e.call(ctx)
		err := e.negotiate(cctx)
		cancel()
		if err != nil {
			ch <- openResult{err: fmt.Errorf("ping: %w", err)}
			return
		}
		body, closeConn, err := e.openEvents(ctx, since)
		ch <- openResult{body, closeConn, err}
	}()
	o := <-ch
	if o.err != nil {
		return nil, nil, e.streamErr(ctx, "open event stream", o.err)
	}
	return o.body, o.closeConn, nil
}

// streamErr is ctx's error once ctx ended (the broken connection is then
// our doing), or err with what failed and the engine's address.
func (e *Engine) streamErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s of %s: %w", what, e.addr, err)
}

// openEvents dials the engine, sends GET /events and reads the answer's
// headers within the call timeout. On success it returns the event body
// and the function that closes the connection; the connection also closes
// when ctx ends, which unblocks a read in progress.
func (e *Engine) openEvents(ctx context.Context, since time.Time) (io.Reader, func(), error) {
	u := e.url + "/v" + e.cli.ClientVersion() + "/events"
	if !since.IsZero() {
		u += "?since=" + strconv.FormatInt(since.Unix(), 10) + "." + fmt.Sprintf("%09d", since.Nanosecond())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	d := net.Dialer{Timeout: e.opts.Timeout, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	closeConn := func() {
		stop()
		_ = raw.Close()
	}
	timeout := e.opts.Timeout
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		closeConn()
		return nil, nil, err
	}
	conn := raw
	if e.streamTLS != nil {
		tc := tls.Client(raw, e.streamTLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			closeConn()
			return nil, nil, pki.ExplainVerifyError(e.addr, headerTimeout(err, timeout))
		}
		conn = tc
	}
	if err := req.Write(conn); err != nil {
		closeConn()
		return nil, nil, fmt.Errorf("send request: %w", headerTimeout(err, timeout))
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, streamReadBuffer), req)
	if err != nil {
		closeConn()
		return nil, nil, fmt.Errorf("read answer: %w", headerTimeout(err, timeout))
	}
	if resp.StatusCode != http.StatusOK {
		err := answerError(resp)
		closeConn()
		return nil, nil, err
	}
	// From here on the stream may stay quiet for as long as the engine has
	// nothing to say; TCP keep-alives notice a vanished peer.
	if err := raw.SetDeadline(time.Time{}); err != nil {
		closeConn()
		return nil, nil, err
	}
	return resp.Body, closeConn, nil
}

// headerTimeout says plainly that an engine did not answer in time.
func headerTimeout(err error, timeout time.Duration) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("engine did not answer within %s (is it frozen or overloaded?): %w", timeout, err)
	}
	return err
}

// streamTLSConfig is the stream's copy of the engine's TLS settings, named
// for the host dialled as the transport would (pki.EnginePolicy already
// sets ServerName; a bare Options.TLS may not).
func streamTLSConfig(cfg *tls.Config, hostPort string) *tls.Config {
	if cfg == nil {
		return nil
	}
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(hostPort)
	}
	return c
}
