package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/errdefs/pkg/errhttp"
)

// Errors the Cluster implementation returns (wrapped with context; api
// checks them with errors.Is/As). The adapter in cmd/swarm translates the
// cluster package's errors into these until api imports cluster directly.
var (
	// ErrNotFound: no such container, node, network, volume or image.
	ErrNotFound = errors.New("not found")
	// ErrNameConflict: the container name is taken somewhere in the cluster.
	ErrNameConflict = errors.New("name already in use")
	// ErrImageNotFound: the image of a create is on no node; the CLI
	// reacts to the 404 by pulling through the manager and retrying.
	ErrImageNotFound = errors.New("no such image")
	// ErrNodeUnavailable: the owning node is not healthy.
	ErrNodeUnavailable = errors.New("node unavailable")
	// ErrInvalid: the request is malformed (e.g. a bad constraint
	// expression); the error text says what.
	ErrInvalid = errors.New("invalid request")
	// ErrNoFit: the scheduler found no node; the error text is its
	// explanation.
	ErrNoFit = errors.New("no node fits")
)

// AmbiguousError says a reference matched several containers.
type AmbiguousError struct {
	Ref        string
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("multiple containers match %q: %s; use the full ID or node/name",
		e.Ref, strings.Join(e.Candidates, ", "))
}

// errorBody is the engine's error shape; the CLI prints Message.
type errorBody struct {
	Message string `json:"message"`
}

// statusFor is the one place errors become HTTP status codes.
func statusFor(err error) int {
	var amb *AmbiguousError
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &amb):
		return http.StatusBadRequest
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrNameConflict):
		return http.StatusConflict
	case errors.Is(err, ErrImageNotFound), errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrNodeUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNoFit):
		return http.StatusInternalServerError
	}
	// Engine errors come back from the Docker SDK classified by
	// containerd/errdefs: keep the engine's status (409 on rm of a running
	// container, 304 on start of a started one, …).
	return errhttp.ToHTTP(err)
}

// writeError answers err in the engine's JSON error shape.
func writeError(w http.ResponseWriter, err error) {
	writeErrorStatus(w, statusFor(err), err.Error())
}

func writeErrorStatus(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Message: msg})
}

// badRequest wraps a client mistake so statusFor answers 400.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// noSuchContainer is the engine's wording, which scripts grep for.
func noSuchContainer(ref string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("No such container: %s: %w", ref, ErrNotFound)
	}
	return err
}
