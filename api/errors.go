package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/containerd/errdefs/pkg/errhttp"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/scheduler"
)

// Errors the cluster returns, wrapped with context; api checks them with
// errors.Is/As in statusFor and returns them from its own lookups.
var (
	// ErrNotFound: no such container, node, network, volume or image.
	ErrNotFound = cluster.ErrNotFound
	// ErrNameConflict: the container name is taken somewhere in the cluster.
	ErrNameConflict = cluster.ErrNameConflict
	// ErrImageNotFound: the image of a create is on no node; the CLI
	// reacts to the 404 by pulling through the manager and retrying.
	ErrImageNotFound = cluster.ErrImageNotFound
	// ErrNodeUnavailable: the owning node is not healthy.
	ErrNodeUnavailable = cluster.ErrNodeUnavailable
	// ErrInvalid: the request is malformed; the error text says what.
	ErrInvalid = cluster.ErrInvalidRequest
)

// AmbiguousError says a reference matched several objects.
type AmbiguousError = cluster.AmbiguousError

// errorBody is the engine's error shape; the CLI prints Message.
type errorBody struct {
	Message string `json:"message"`
}

// statusFor is the one place errors become HTTP status codes.
func statusFor(err error) int {
	var amb *AmbiguousError
	var maxBytes *http.MaxBytesError
	var expr *scheduler.ExprError
	var noFit *cluster.NoFitError
	switch {
	case errors.As(err, &amb), errors.As(err, &expr):
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
	case errors.As(err, &noFit):
		// Classic Swarm answered "no node fits" with 500 and the
		// scheduler's explanation as the message.
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
