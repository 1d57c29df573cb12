package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/gorilla/mux"
)

// validName is the engine's container name rule.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func checkName(name string) error {
	if !validName.MatchString(name) {
		return badRequest("invalid container name %q: use [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least 2 characters, no node/ prefix)", name)
	}
	return nil
}

// createContainer schedules a container through the cluster. The
// cluster reserves the name, ports and resources and either returns the
// created container or leaves nothing behind.
func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name != "" {
		if err := checkName(name); err != nil {
			writeError(w, err)
			return
		}
	}
	// The body is kept as sent: the engine gets it rather than the SDK's
	// encoding of what this build decoded (cluster.CreateRequest.Body).
	raw, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	var body container.CreateRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, badRequest("malformed JSON body: %v", err))
		return
	}
	if body.Config == nil || body.Config.Image == "" {
		writeError(w, badRequest("no image given: the create body needs an \"Image\""))
		return
	}
	c, err := s.cluster.CreateContainer(r.Context(), CreateRequest{
		Name:         strings.TrimPrefix(name, "/"),
		Config:       body.Config,
		HostConfig:   body.HostConfig,
		Networking:   body.NetworkingConfig,
		RegistryAuth: r.Header.Get("X-Registry-Auth"),
		Body:         raw,
		APIVersion:   requestVersion(r),
		Platform:     r.URL.Query().Get("platform"),
	})
	if errors.Is(err, ErrImageNotFound) {
		// The engine's exact wording and status: the CLI pulls on 404
		// and retries the create.
		writeErrorStatus(w, http.StatusNotFound, "No such image: "+body.Config.Image)
		return
	}
	if err != nil {
		s.log.Info("create failed", "name", name, "image", body.Config.Image, "err", err)
		writeError(w, err)
		return
	}
	warnings := c.Warnings
	if warnings == nil {
		warnings = []string{} // as engines answer
	}
	writeJSON(w, http.StatusCreated, container.CreateResponse{ID: c.Summary.ID, Warnings: warnings})
}

func (s *Server) renameContainer(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["name"]
	newName := r.URL.Query().Get("name")
	if newName == "" {
		writeError(w, badRequest("missing new name: POST /containers/%s/rename?name=NEW", ref))
		return
	}
	if err := checkName(newName); err != nil {
		writeError(w, err)
		return
	}
	if err := s.cluster.RenameContainer(r.Context(), ref, strings.TrimPrefix(newName, "/")); err != nil {
		writeError(w, noSuchContainer(ref, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["name"]
	if boolValue(r, "link") {
		writeError(w, badRequest("removing a link (docker rm --link) is not supported by the swarm manager; remove or recreate the container instead"))
		return
	}
	if err := s.cluster.RemoveContainer(r.Context(), ref, boolValue(r, "force"), boolValue(r, "v")); err != nil {
		writeError(w, noSuchContainer(ref, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
