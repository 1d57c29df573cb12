package fakeengine

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/storage"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// img is one image. Its ID and digest derive from the first reference it was
// added under, so the same name gets the same ID on every engine.
type img struct {
	id      string // "sha256:…"
	digest  string // "sha256:…" of the manifest
	tags    []string
	created time.Time
	cmd     []string
	exposed []nat.Port
}

// knownImages gives a few well-known images their real default command and
// EXPOSE, so `-P` publishes what it would on a real engine.
var knownImages = map[string]struct {
	cmd     []string
	exposed []nat.Port
}{
	"busybox":  {cmd: []string{"sh"}},
	"alpine":   {cmd: []string{"/bin/sh"}},
	"nginx":    {cmd: []string{"nginx", "-g", "daemon off;"}, exposed: []nat.Port{"80/tcp"}},
	"httpd":    {cmd: []string{"httpd-foreground"}, exposed: []nat.Port{"80/tcp"}},
	"redis":    {cmd: []string{"redis-server"}, exposed: []nat.Port{"6379/tcp"}},
	"postgres": {cmd: []string{"postgres"}, exposed: []nat.Port{"5432/tcp"}},
	"mysql":    {cmd: []string{"mysqld"}, exposed: []nat.Port{"3306/tcp", "33060/tcp"}},
}

func hashOf(kind, s string) string {
	sum := sha256.Sum256([]byte(kind + s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// AddImage makes ref present without any event, as if it had been pulled
// before the engine started, and returns the image ID. Extra exposed ports
// ("8080/tcp") are added to the image's EXPOSE list. Invalid refs are ignored
// and return "".
func (e *Engine) AddImage(ref string, exposed ...string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	im, err := e.addImageLocked(ref)
	if err != nil {
		return ""
	}
	for _, p := range exposed {
		if np, err := nat.NewPort(nat.SplitProtoPort(p)); err == nil && !slices.Contains(im.exposed, np) {
			im.exposed = append(im.exposed, np)
		}
	}
	return im.id
}

// addImageLocked adds (or finds) the image for ref and returns it.
func (e *Engine) addImageLocked(ref string) (*img, error) {
	norm, err := normalizeRef(ref)
	if err != nil {
		return nil, err
	}
	if im, ok := e.tags[norm]; ok {
		return im, nil
	}
	im := &img{id: hashOf("image:", norm), digest: hashOf("manifest:", norm), tags: []string{norm}, created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	if old, ok := e.images[im.id]; ok { // re-pulled after its last tag went
		im = old
		im.tags = append(im.tags, norm)
	}
	name, _, _ := strings.Cut(norm, ":")
	known, ok := knownImages[name]
	if !ok {
		known.cmd = []string{"sh"}
	}
	im.cmd, im.exposed = known.cmd, slices.Clone(known.exposed)
	e.images[im.id] = im
	e.tags[norm] = im
	return im, nil
}

// findImageLocked resolves a reference, a full ID or a unique ID prefix.
func (e *Engine) findImageLocked(ref string) (*img, error) {
	// Fast path without the reference grammar: ref already is a stored tag
	// ("busybox:latest") or one with the implied tag ("busybox"). Tags are
	// kept normalized, and normalizing is idempotent, so a hit is exactly
	// what the slow path would find.
	if im, ok := e.tags[ref]; ok {
		return im, nil
	}
	if !strings.ContainsAny(ref, ":@") {
		if im, ok := e.tags[ref+":latest"]; ok {
			return im, nil
		}
	}
	if norm, err := normalizeRef(ref); err == nil {
		if im, ok := e.tags[norm]; ok {
			return im, nil
		}
	}
	hexID := strings.TrimPrefix(ref, "sha256:")
	if len(hexID) >= 4 && strings.Trim(hexID, "0123456789abcdef") == "" {
		for id, im := range e.images {
			if strings.HasPrefix(id, "sha256:"+hexID) {
				return im, nil
			}
		}
	}
	shown := ref
	if norm, err := normalizeRef(ref); err == nil {
		shown = norm
	}
	return nil, errf(http.StatusNotFound, "No such image: %s", shown)
}

var imageFilters = map[string]bool{"before": true, "since": true, "dangling": true, "label": true, "reference": true, "until": true}

func (e *Engine) listImages(w http.ResponseWriter, r *http.Request) {
	args, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err == nil {
		err = args.Validate(imageFilters)
	}
	if err != nil {
		writeError(w, errf(http.StatusBadRequest, "invalid image filters: %v", err))
		return
	}
	e.mu.Lock()
	out := make([]image.Summary, 0, len(e.images))
	for _, im := range e.images {
		if args.Contains("dangling") && args.ExactMatch("dangling", "true") != (len(im.tags) == 0) {
			continue
		}
		if args.Contains("reference") && !matchReference(args.Get("reference"), im.tags) {
			continue
		}
		if args.Contains("label") && !args.MatchKVList("label", nil) {
			continue
		}
		out = append(out, image.Summary{
			Containers: -1, Created: im.created.Unix(), ID: im.id, Labels: map[string]string{},
			RepoDigests: im.repoDigests(), RepoTags: slices.Clone(im.tags), SharedSize: -1, Size: 4 << 20,
		})
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b image.Summary) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, out)
}

func matchReference(patterns, tags []string) bool {
	for _, p := range patterns {
		for _, t := range tags {
			ref, err := reference.ParseNormalizedNamed(t)
			if err != nil {
				continue
			}
			if ok, _ := reference.FamiliarMatch(p, ref); ok {
				return true
			}
			if ok, _ := reference.FamiliarMatch(p, reference.TrimNamed(ref)); ok {
				return true
			}
		}
	}
	return false
}

func (im *img) repoDigests() []string {
	out := []string{}
	for _, t := range im.tags {
		name, _, _ := strings.Cut(t, ":")
		if d := name + "@" + im.digest; !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// imageGet dispatches GET /images/{name}/json and /images/{name}/history.
func (e *Engine) imageGet(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	switch {
	case strings.HasSuffix(rest, "/json"):
		e.count("GET /images/{name}/json")
		e.inspectImage(w, strings.TrimSuffix(rest, "/json"))
	case strings.HasSuffix(rest, "/history"):
		e.count("GET /images/{name}/history")
		e.mu.Lock()
		im, err := e.findImageLocked(strings.TrimSuffix(rest, "/history"))
		var h []image.HistoryResponseItem
		if err == nil {
			h = []image.HistoryResponseItem{{ID: im.id, Created: im.created.Unix(), CreatedBy: "/bin/sh -c #(nop) CMD " + strings.Join(im.cmd, " "), Tags: slices.Clone(im.tags), Size: 4 << 20}}
		}
		e.mu.Unlock()
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, h)
	default:
		writeError(w, errf(http.StatusNotFound, "page not found"))
	}
}

func (e *Engine) inspectImage(w http.ResponseWriter, name string) {
	e.mu.Lock()
	im, err := e.findImageLocked(name)
	var resp image.InspectResponse
	if err == nil {
		cfg := &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
			Cmd: slices.Clone(im.cmd),
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		}}
		if len(im.exposed) > 0 {
			cfg.ExposedPorts = make(map[string]struct{}, len(im.exposed))
			for _, p := range im.exposed {
				cfg.ExposedPorts[string(p)] = struct{}{}
			}
		}
		resp = image.InspectResponse{
			ID: im.id, RepoTags: slices.Clone(im.tags), RepoDigests: im.repoDigests(),
			Created: im.created.Format(time.RFC3339Nano), Config: cfg,
			Architecture: "amd64", Os: "linux", Size: 4 << 20,
			GraphDriver: storage.DriverData{Name: "overlay2", Data: map[string]string{}},
			RootFS:      image.RootFS{Type: "layers", Layers: []string{hashOf("layer:", im.id)}},
		}
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// imagePost dispatches POST /images/{name}/tag.
func (e *Engine) imagePost(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	if !strings.HasSuffix(rest, "/tag") {
		writeError(w, errf(http.StatusNotFound, "page not found"))
		return
	}
	e.count("POST /images/{name}/tag")
	q := r.URL.Query()
	if q.Get("repo") == "" {
		writeError(w, errf(http.StatusBadRequest, "repository name (repo) must be specified to tag an image"))
		return
	}
	target := q.Get("repo")
	if t := q.Get("tag"); t != "" {
		target += ":" + t
	}
	norm, err := normalizeRef(target)
	if err != nil {
		writeError(w, err)
		return
	}
	e.mu.Lock()
	im, err := e.findImageLocked(strings.TrimSuffix(rest, "/tag"))
	if err == nil {
		e.tagLocked(im, norm)
	}
	e.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// tagLocked points ref at im, moving it from another image if needed.
func (e *Engine) tagLocked(im *img, ref string) {
	if old, ok := e.tags[ref]; ok {
		if old == im {
			return
		}
		old.tags = slices.DeleteFunc(old.tags, func(t string) bool { return t == ref })
	}
	im.tags = append(im.tags, ref)
	e.tags[ref] = im
	e.emitLocked(events.ImageEventType, events.ActionTag, im.id, map[string]string{"name": ref})
}
