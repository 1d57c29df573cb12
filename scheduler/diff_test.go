package scheduler

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDiffSorted(t *testing.T) {
	a, b, c := &Container{ID: "a"}, &Container{ID: "b"}, &Container{ID: "c"}
	b2 := &Container{ID: "b", State: "exited"}            // same index entries as b
	b3 := &Container{ID: "b", Names: []string{"renamed"}} // different ones
	ids := func(cs []*Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	tests := []struct {
		name           string
		old, cur       []*Container
		added, removed []string
		sorted         bool
	}{
		{"unchanged", []*Container{a, b, c}, []*Container{a, b, c}, nil, nil, true},
		{"one added in the middle", []*Container{a, c}, []*Container{a, b, c}, []string{"b"}, nil, true},
		{"one removed at the end", []*Container{a, b, c}, []*Container{a, b}, nil, []string{"c"}, true},
		{"state change only", []*Container{a, b, c}, []*Container{a, b2, c}, nil, nil, true},
		{"indexed change", []*Container{a, b, c}, []*Container{a, b3, c}, []string{"b"}, []string{"b"}, true},
		{"all replaced", []*Container{a}, []*Container{c}, []string{"c"}, []string{"a"}, true},
		{"from empty", nil, []*Container{a, b}, []string{"a", "b"}, nil, true},
		{"unsorted new list", []*Container{a, b}, []*Container{b, a}, nil, nil, false},
		{"duplicate IDs", []*Container{a, b}, []*Container{a, b, b2}, nil, nil, false},
		// A first Put is not checked: the same unsorted list again must
		// still be found out of order when old is not known in order.
		{"unsorted list kept", []*Container{b, a, c}, []*Container{b, a, c}, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added, removed, sorted := diffSorted(tt.old, tt.cur, false, nil, nil)
			assert.Equal(t, tt.sorted, sorted)
			if sorted {
				assert.Equal(t, tt.added, ids(added))
				assert.Equal(t, tt.removed, ids(removed))
			}
			if !slices.IsSortedFunc(tt.old, func(x, y *Container) int { return strings.Compare(x.ID, y.ID) }) {
				return
			}
			// Knowing old in order skips the IDs shared with it and
			// must give the same answer.
			added2, removed2, sorted2 := diffSorted(tt.old, tt.cur, true, nil, nil)
			assert.Equal(t, sorted, sorted2)
			if sorted {
				assert.Equal(t, tt.added, ids(added2))
				assert.Equal(t, tt.removed, ids(removed2))
			}
		})
	}
}

func TestPostingsInlineOneSlot(t *testing.T) {
	m := postings{}
	m.add("web", 3)
	m.add("web", 3)
	assert.Equal(t, postingRef{one: 4}, m["web"], "one slot is held inline")
	m.add("web", 7)
	r := m["web"]
	if assert.NotNil(t, r.p, "a second slot moves it to a shared posting") {
		assert.ElementsMatch(t, []int32{3, 7}, r.p.sparse)
	}
	m.remove("web", 3)
	assert.Equal(t, postingRef{one: 8}, m["web"], "back inline at one slot")
	m.remove("web", 3)
	assert.Equal(t, postingRef{one: 8}, m["web"], "removing a slot that does not hold it changes nothing")
	m.remove("web", 7)
	assert.NotContains(t, m, "web", "empty values are dropped")

	var set NodeSet
	set.reset(1)
	m.add("db", 0)
	m["db"].orInto(&set)
	m["missing"].orInto(&set)
	assert.True(t, set.has(0))
	assert.Equal(t, 1, set.Len())
}

// TestDiffSortedInOrderAgrees edits random sorted lists as the cluster
// does (insert, remove, replace, keep the same pointers otherwise) and
// checks that knowing the old list in order changes no answer.
func TestDiffSortedInOrderAgrees(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	ids := func(cs []*Container) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for round := range 2000 {
		var old []*Container
		for i := range r.Intn(12) {
			old = append(old, &Container{ID: fmt.Sprintf("c%03d", i*3)})
		}
		cur := slices.Clone(old)
		for range r.Intn(4) {
			switch k := r.Intn(4); {
			case k == 0 && len(cur) > 0: // remove
				i := r.Intn(len(cur))
				cur = slices.Delete(cur, i, i+1)
			case k == 1: // insert in order
				id := fmt.Sprintf("c%03d", r.Intn(40))
				i, found := slices.BinarySearchFunc(cur, id, func(c *Container, id string) int { return strings.Compare(c.ID, id) })
				if !found {
					cur = slices.Insert(cur, i, &Container{ID: id})
				}
			case k == 2 && len(cur) > 0: // replace with an indexed change
				i := r.Intn(len(cur))
				cur[i] = &Container{ID: cur[i].ID, Names: []string{"renamed"}}
			case k == 3 && len(cur) > 1: // break the order
				i := r.Intn(len(cur) - 1)
				cur[i], cur[i+1] = cur[i+1], cur[i]
			}
		}
		added, removed, sorted := diffSorted(old, cur, false, nil, nil)
		added2, removed2, sorted2 := diffSorted(old, cur, true, nil, nil)
		want := true // strictly increasing IDs
		for i := 1; i < len(cur); i++ {
			want = want && cur[i-1].ID < cur[i].ID
		}
		if !assert.Equal(t, want, sorted, "round %d: %v -> %v", round, ids(old), ids(cur)) ||
			!assert.Equal(t, sorted, sorted2, "round %d: %v -> %v", round, ids(old), ids(cur)) {
			return
		}
		if sorted && (!assert.Equal(t, ids(added), ids(added2), "round %d added", round) ||
			!assert.Equal(t, ids(removed), ids(removed2), "round %d removed", round)) {
			return
		}
	}
}
