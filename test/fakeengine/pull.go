package fakeengine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
)

// progressLine is one line of a pull's JSON progress stream.
type progressLine struct {
	Status         string          `json:"status"`
	ProgressDetail *progressDetail `json:"progressDetail,omitempty"`
	Progress       string          `json:"progress,omitempty"`
	ID             string          `json:"id,omitempty"`
}

type progressDetail struct {
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
}

// pullImage serves POST /images/create?fromImage=&tag=. An unknown image fails
// before any output, with the HTTP error Docker Hub's answer becomes; a known
// one streams the progress lines of a one-layer pull, then is present.
func (e *Engine) pullImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("fromImage") == "" {
		writeError(w, errf(http.StatusBadRequest, "fake engine: only pulls are supported: set fromImage (import with fromSrc is not)"))
		return
	}
	ref := q.Get("fromImage")
	if t := q.Get("tag"); t != "" {
		sep := ":"
		if strings.HasPrefix(t, "sha256:") {
			sep = "@"
		}
		ref += sep + t
	}
	norm, err := normalizeRef(ref)
	if err != nil {
		writeError(w, err)
		return
	}
	named, _ := reference.ParseNormalizedNamed(norm)
	if e.registry != nil && !e.registry[norm] {
		writeError(w, errf(http.StatusNotFound, "pull access denied for %s, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", reference.FamiliarName(named)))
		return
	}
	e.mu.Lock()
	_, had := e.tags[norm]
	im, err := e.addImageLocked(norm)
	if err == nil {
		e.emitLocked(events.ImageEventType, events.ActionPull, norm, map[string]string{"name": reference.FamiliarName(named)})
	}
	var digest string
	if im != nil {
		digest = im.digest
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}

	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	layer := strings.TrimPrefix(digest, "sha256:")[:12]
	lines := []progressLine{{Status: "Pulling from " + reference.Path(named), ID: tag}}
	if had {
		lines = append(lines, progressLine{Status: "Digest: " + digest},
			progressLine{Status: "Status: Image is up to date for " + norm})
	} else {
		const size = 2 << 20
		lines = append(lines,
			progressLine{Status: "Pulling fs layer", ProgressDetail: &progressDetail{}, ID: layer},
			progressLine{Status: "Downloading", ProgressDetail: &progressDetail{Current: size / 2, Total: size}, Progress: progressBar(size/2, size), ID: layer},
			progressLine{Status: "Download complete", ProgressDetail: &progressDetail{}, ID: layer},
			progressLine{Status: "Extracting", ProgressDetail: &progressDetail{Current: size, Total: size}, Progress: progressBar(size, size), ID: layer},
			progressLine{Status: "Pull complete", ProgressDetail: &progressDetail{}, ID: layer},
			progressLine{Status: "Digest: " + digest},
			progressLine{Status: "Status: Downloaded newer image for " + norm})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for i := range lines {
		if enc.Encode(&lines[i]) != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
	}
}

func progressBar(cur, total int64) string {
	n := int(50 * cur / total)
	bar := strings.Repeat("=", n)
	if n < 50 {
		bar += ">" + strings.Repeat(" ", 49-n)
	} else {
		bar = bar[:49] + ">"
	}
	return fmt.Sprintf("[%s]  %.3fMB/%.3fMB", bar, float64(cur)/1e6, float64(total)/1e6)
}

// deleteImage serves DELETE /images/{name}: untag a reference, and delete the
// image once its last reference goes (409 if a container uses it, unless force).
func (e *Engine) deleteImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	e.mu.Lock()
	resp, err := e.deleteImageLocked(name, boolParam(r, "force"))
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Engine) deleteImageLocked(name string, force bool) ([]image.DeleteResponse, error) {
	im, err := e.findImageLocked(name)
	if err != nil {
		return nil, err
	}
	byRef := ""
	if norm, err := normalizeRef(name); err == nil && e.tags[norm] == im {
		byRef = norm
	}
	var resp []image.DeleteResponse
	untag := func(ref string) {
		delete(e.tags, ref)
		im.tags = slices.DeleteFunc(im.tags, func(t string) bool { return t == ref })
		resp = append(resp, image.DeleteResponse{Untagged: ref})
		e.emitLocked(events.ImageEventType, events.ActionUnTag, im.id, map[string]string{"name": ref})
	}
	if byRef != "" && len(im.tags) > 1 {
		untag(byRef)
		return resp, nil
	}
	if byRef == "" && len(im.tags) > 1 && !force {
		return nil, errf(http.StatusConflict, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(im.id))
	}
	if !force {
		for _, c := range e.containers {
			if c.imageID != im.id {
				continue
			}
			if c.state == container.StateRunning || c.state == container.StatePaused {
				return nil, errf(http.StatusConflict, "conflict: unable to delete %s (cannot be forced) - image is being used by running container %s", shortID(im.id), c.id[:12])
			}
			return nil, errf(http.StatusConflict, "conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", name, c.id[:12], shortID(im.id))
		}
	}
	for _, t := range slices.Clone(im.tags) {
		untag(t)
	}
	delete(e.images, im.id)
	resp = append(resp, image.DeleteResponse{Deleted: im.id})
	e.emitLocked(events.ImageEventType, events.ActionDelete, im.id, map[string]string{"name": im.id})
	return resp, nil
}

func shortID(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }
