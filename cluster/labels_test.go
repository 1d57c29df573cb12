package cluster

import (
	"hash/maphash"
	"runtime"
	"strconv"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newLabelSets() *labelSets {
	return &labelSets{seed: maphash.MakeSeed(), sets: map[uint64][]weak.Pointer[labelSet]{}}
}

func TestEqualLabelsShareOneMap(t *testing.T) {
	tab := newLabelSets()
	a := tab.share(map[string]string{"app": "web", "tier": "front"})
	b := tab.share(map[string]string{"tier": "front", "app": "web"})
	c := tab.share(map[string]string{"app": "web", "tier": "back"})
	d := tab.share(map[string]string{"app": "web"})
	require.NotNil(t, a)
	assert.Same(t, a, b, "equal labels, built in another order")
	assert.NotSame(t, a, c, "a different value")
	assert.NotSame(t, a, d, "a subset")
	assert.Equal(t, map[string]string{"app": "web", "tier": "back"}, c.m)
	assert.Nil(t, tab.share(nil))
	assert.Nil(t, tab.share(map[string]string{}))
	assert.Equal(t, 3, tab.size())
	runtime.KeepAlive([]*labelSet{a, b, c, d})
}

// A set planted under another's hash (a collision) is told apart by its
// content.
func TestLabelSetsCollidingHashes(t *testing.T) {
	tab := newLabelSets()
	want := map[string]string{"b": "2"}
	other := &labelSet{m: map[string]string{"a": "1"}}
	h := tab.hash(want)
	tab.sets[h] = []weak.Pointer[labelSet]{weak.Make(other)}
	got := tab.share(want)
	assert.NotSame(t, other, got)
	assert.Equal(t, want, got.m)
	assert.Same(t, got, tab.share(map[string]string{"b": "2"}), "found after the colliding one")
	assert.Len(t, tab.sets[h], 2)
	runtime.KeepAlive(other)
}

// A set no container holds any more leaves the table.
func TestUnheldLabelSetsAreForgotten(t *testing.T) {
	tab := newLabelSets()
	held := tab.share(map[string]string{"keep": "me"})
	for i := range 100 {
		tab.share(map[string]string{"n": strconv.Itoa(i)})
	}
	require.Greater(t, tab.size(), 1)
	assert.Eventually(t, func() bool {
		runtime.GC() // cleanups run after a collection
		return tab.size() == 1
	}, 5*time.Second, 10*time.Millisecond, "only the held set stays")
	assert.Same(t, held, tab.share(map[string]string{"keep": "me"}))
	runtime.KeepAlive(held)
}

// size is the number of hashes with a live or not yet forgotten set.
func (t *labelSets) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sets)
}
