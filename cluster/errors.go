package cluster

import (
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
)

// Errors the API maps to status codes; they come wrapped with context, so
// check them with errors.Is / errors.As.
var (
	// ErrNotFound: no such container, node or image (404).
	ErrNotFound = errors.New("not found")
	// ErrNameConflict: the container name is taken somewhere in the cluster (409).
	ErrNameConflict = errors.New("name conflict")
	// ErrImageNotFound: the image is on no node; the CLI pulls and retries (404).
	ErrImageNotFound = errors.New("no such image")
	// ErrNodeUnavailable: the owning node is not healthy (503).
	ErrNodeUnavailable = errors.New("node unavailable")
	// ErrSlowSubscriber is why a subscriber that fell behind was dropped.
	ErrSlowSubscriber = errors.New("event subscriber too slow: its buffer filled up; reconnect with since= to resume")
	// ErrInvalidRequest: the create request itself is wrong (400).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrStopped: the cluster was stopped.
	ErrStopped = errors.New("cluster stopped")
)

// AmbiguousError is a container reference matching several containers.
type AmbiguousError struct {
	Ref string
	// Candidates are "node/name (id)" of every match.
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%q matches several containers, use a longer ID or node/name: %s",
		e.Ref, strings.Join(e.Candidates, ", "))
}

// NoFitError is a create that no node can take. Its message is the
// scheduler's explanation, starting with classic Swarm's first line
// ("Unable to find a node that satisfies the following conditions").
type NoFitError struct {
	Explanation string
}

func (e *NoFitError) Error() string { return e.Explanation }

// isAnswer reports whether err is an answer from a live engine (an HTTP
// error status such as 404, 409, 400 or 500) rather than a failure to
// reach it (refused, timed out, cut mid-response).
func isAnswer(err error) bool {
	return cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) || cerrdefs.IsInvalidArgument(err) ||
		cerrdefs.IsAlreadyExists(err) || cerrdefs.IsPermissionDenied(err) || cerrdefs.IsUnauthorized(err) ||
		cerrdefs.IsFailedPrecondition(err) || cerrdefs.IsNotModified(err) || cerrdefs.IsInternal(err) ||
		cerrdefs.IsNotImplemented(err)
}

// kindError carries a message meant for the docker CLI verbatim while
// matching one of the sentinels above with errors.Is, so the API can map
// the status without the sentinel's text trailing the message.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// errorf builds a kindError: the message is formatted like fmt.Sprintf.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
