package cluster

import (
	"hash/maphash"
	"maps"
	"runtime"
	"sync"
	"weak"
)

// Containers of one service carry the same labels, and a Go map of three
// labels costs about 330 bytes. sharedLabels hands every container whose
// labels equal another live container's the same read-only map, so a set
// is stored once however many replicas carry it. A set nobody holds any
// more is dropped from the table by the garbage collector (weak pointers
// and a cleanup), so the table never outgrows the live sets. Containers
// whose labels are all different (docker compose numbers each one) gain
// nothing and cost one table slot each.
var sharedLabels = labelSets{seed: maphash.MakeSeed(), sets: map[uint64][]weak.Pointer[labelSet]{}}

// labelSet is one shared, read-only label map. An entry holds its
// labelSet to keep the map in the table while the container is cached.
type labelSet struct {
	m map[string]string
}

type labelSets struct {
	seed maphash.Seed
	mu   sync.Mutex
	sets map[uint64][]weak.Pointer[labelSet]
}

// share returns the shared set equal to m (with interned strings), or nil
// for no labels. The returned map must never be written.
func (t *labelSets) share(m map[string]string) *labelSet {
	if len(m) == 0 {
		return nil
	}
	h := t.hash(m)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range t.sets[h] {
		if ls := w.Value(); ls != nil && maps.Equal(ls.m, m) {
			return ls
		}
	}
	ls := &labelSet{m: internMap(m)}
	t.sets[h] = append(t.sets[h], weak.Make(ls))
	runtime.AddCleanup(ls, t.forget, h)
	return ls
}

// hash is independent of the map's iteration order: the sum of each
// pair's hash.
func (t *labelSets) hash(m map[string]string) uint64 {
	var sum uint64
	var h maphash.Hash
	h.SetSeed(t.seed)
	for k, v := range m {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	return sum
}

// forget drops the collected sets under hash h.
func (t *labelSets) forget(h uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := t.sets[h][:0]
	for _, w := range t.sets[h] {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	if len(live) == 0 {
		delete(t.sets, h)
		return
	}
	clear(t.sets[h][len(live):])
	t.sets[h] = live
}
