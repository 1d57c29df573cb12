package discovery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrSource is wrapped by Update.Err when the source itself failed, so the
// consumer (and its logs) can tell a discovery problem from a node problem.
var ErrSource = errors.New("discovery source problem (the nodes themselves are not affected; keeping the last known membership)")

// File is a file:// source: one entry per line, '#' starts a comment, blank
// lines are ignored. The file is polled rather than watched with inotify:
// polling also sees files replaced by rename, on network file systems and in
// bind mounts, and needs no extra dependency; the cost is one small read per
// interval.
type File struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	// initial is what New read, so the first Update is immediate and
	// consistent with the validation done at start.
	initial []string
	content []byte
}

// newFile validates the path and reads the file once.
func newFile(path string, opts Options) (*File, error) {
	// file:///etc/swarm/nodes gives "/etc/swarm/nodes"; file://nodes (a
	// relative path) is accepted as written.
	path = filepath.Clean(path)
	content, addrs, err := readEntries(path)
	if err != nil {
		return nil, fmt.Errorf("discovery file:// %s: %w", path, err)
	}
	return &File{path: path, interval: opts.PollInterval, log: opts.Logger, initial: addrs, content: content}, nil
}

// Watch sends the membership read at start, then polls. An unreadable or
// malformed file yields one Update with Err (wrapping ErrSource) and the last
// known Addrs each time the error changes; when the file is good again the
// new membership is sent with Err nil.
func (f *File) Watch(ctx context.Context) <-chan Update {
	ch := make(chan Update)
	go func() {
		defer close(ch)
		last, content := f.initial, f.content
		var lastErr string
		if !send(ctx, ch, Update{Addrs: last}) {
			return
		}
		ticker := time.NewTicker(f.interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			newContent, err := readFile(f.path)
			if err == nil && lastErr == "" && bytes.Equal(newContent, content) {
				continue // unchanged: not even parsed
			}
			var addrs []string
			if err == nil {
				addrs, err = ParseFile(newContent)
			}
			if err != nil {
				if err.Error() == lastErr {
					continue
				}
				lastErr = err.Error()
				f.log.Warn("discovery file unreadable; keeping the last known membership, the nodes are not affected",
					"path", f.path, "nodes", len(last), "err", err)
				if !send(ctx, ch, Update{Addrs: last, Err: fmt.Errorf("%w: file %s: %w", ErrSource, f.path, err)}) {
					return
				}
				continue
			}
			recovered := lastErr != ""
			content = newContent
			if !recovered && slices.Equal(addrs, last) {
				continue // edited comments or order only
			}
			if recovered {
				f.log.Info("discovery file readable again", "path", f.path, "nodes", len(addrs))
			}
			lastErr, last = "", addrs
			if !send(ctx, ch, Update{Addrs: last}) {
				return
			}
		}
	}()
	return ch
}

// send delivers u unless ctx ends first; it reports whether it delivered.
func send(ctx context.Context, ch chan<- Update, u Update) bool {
	select {
	case ch <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// readEntries reads and parses path.
func readEntries(path string) ([]byte, []string, error) {
	content, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	addrs, err := ParseFile(content)
	if err != nil {
		return nil, nil, err
	}
	return content, addrs, nil
}

// readFile reads path; the poller compares the content with the last read
// before parsing it.
func readFile(path string) ([]byte, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w (the file must exist and list one host:port per line)", err)
	}
	return content, nil
}

// ParseFile parses the content of a discovery file: one entry (with an
// optional range) per line, '#' comments, blank lines ignored. Errors name
// the line. The result is sorted and deduplicated; an empty file is an empty
// membership, which is legal (all nodes removed on purpose).
func ParseFile(content []byte) ([]string, error) {
	var all []string
	sc := bufio.NewScanner(bytes.NewReader(content))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		addrs, err := ParseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		all = append(all, addrs...)
		if len(all) > MaxExpansion {
			return nil, fmt.Errorf("%w: line %d: the file expands to more than %d addresses", ErrBadEntry, n, MaxExpansion)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return Normalize(all), nil
}
