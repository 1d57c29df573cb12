// Package discovery turns a membership source — a static list (nodes://), a
// file (file://) or a gossip token (token://, implemented in
// discovery/token) — into a stream of full membership lists for the cluster.
//
// Every source reports the whole membership each time, sorted and
// deduplicated (plus, for token://, the engines it lost but still retains),
// so the consumer applies it with one call and never has to reconcile
// add/remove deltas. A source that becomes unreadable
// reports an error together with the last known membership: a broken
// discovery source must never look like dead engines.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Discovery is a membership source.
type Discovery interface {
	// Watch sends a first Update promptly, then one on every change. The
	// channel is closed when ctx ends. Watch may be called once per source.
	Watch(ctx context.Context) <-chan Update
}

// Update is one report from a source.
type Update struct {
	// Addrs is the full membership (host:port of each engine), sorted and
	// deduplicated. When Err is set it is the last known membership, so the
	// consumer can always apply Addrs as is.
	Addrs []string
	// Down lists engines the source lost but retains for a while (token://:
	// their join agent left or stopped answering), sorted and disjoint from
	// Addrs. The consumer keeps them known but out of use, so that users
	// see them as down rather than gone; an engine back in Addrs is up
	// again. Sources without that notion leave it nil.
	Down []string
	// Err reports a problem with the discovery source itself (file
	// unreadable, gossip unreachable), never with the engines it lists.
	Err error
}

// TokenFunc builds a token:// source; discovery/token provides it. It is
// injected rather than imported because discovery/token depends on this
// package.
type TokenFunc func(token string) (Discovery, error)

// Options tunes the sources. The zero value is usable.
type Options struct {
	// PollInterval is how often file:// re-reads its file (default 1s).
	PollInterval time.Duration
	// Logger receives discovery problems (default: discarded).
	Logger *slog.Logger
	// Token builds token:// sources; nil makes token:// URLs an error.
	Token TokenFunc
}

// DefaultPollInterval is the file:// re-read interval when none is given.
const DefaultPollInterval = time.Second

// urlForms is appended to URL errors so the user sees every accepted form.
const urlForms = "use nodes://host:port,host:port, a bare host:port,host:port list, " +
	"file:///path/to/file or token://TOKEN"

// ErrBadURL is wrapped by every error about a malformed discovery URL.
var ErrBadURL = errors.New("bad discovery URL")

// New parses rawURL and returns the matching source. Malformed URLs and
// entries are rejected here, at start, with a message naming the offending
// entry and the expected form. For file:// the file is read once now, so a
// missing or malformed file is also reported at start.
func New(rawURL string, opts Options) (Discovery, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	scheme, rest, err := SplitURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "nodes", "":
		addrs, err := ParseEntries(rest)
		if err != nil {
			return nil, fmt.Errorf("discovery %q: %w", rawURL, err)
		}
		return Static(addrs), nil
	case "file":
		return newFile(rest, opts)
	case "token":
		if opts.Token == nil {
			return nil, fmt.Errorf("%w: %q: token:// discovery is not available in this build", ErrBadURL, rawURL)
		}
		return opts.Token(rest)
	}
	return nil, fmt.Errorf("%w: %q has unknown scheme %q: %s", ErrBadURL, rawURL, scheme, urlForms)
}

// SplitURL returns the scheme ("" for a bare list) and the rest of rawURL,
// checking only what is common to all schemes.
func SplitURL(rawURL string) (scheme, rest string, err error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return "", "", fmt.Errorf("%w: empty: %s", ErrBadURL, urlForms)
	}
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return "", rawURL, nil
	}
	scheme, rest = strings.ToLower(rawURL[:i]), rawURL[i+len("://"):]
	switch scheme {
	case "nodes", "file", "token":
	case "tcp":
		// tcp://h:p is a single bare entry, not a scheme of its own.
		return "", rawURL, nil
	default:
		return "", "", fmt.Errorf("%w: %q has unknown scheme %q: %s", ErrBadURL, rawURL, scheme, urlForms)
	}
	if rest == "" {
		return "", "", fmt.Errorf("%w: %q has nothing after %s://: %s", ErrBadURL, rawURL, scheme, urlForms)
	}
	return scheme, rest, nil
}

// Static is a fixed membership, as given by nodes:// or a bare list.
type Static []string

// Watch sends the membership once and closes the channel when ctx ends.
func (s Static) Watch(ctx context.Context) <-chan Update {
	ch := make(chan Update, 1)
	ch <- Update{Addrs: Normalize(s)}
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}
