package scheduler

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTextIndexMatchesScan churns a textIndex (adds, removes, rebuilds)
// and compares every glob's matches with a plain scan of the live set.
func TestTextIndexMatchesScan(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	idx := newTextIndex()
	live := map[string]bool{}
	words := []string{"redis", "web", "db", "redis-counter", "x/redis", "a\nb", "web-1", "re", "dis"}
	patterns := []string{"*redis*", "redis*", "*dis", "re*dis", "*-*", "*", "*/*", "web-1", "a*b", "*e*e*"}
	for step := 0; step < 3000; step++ {
		v := fmt.Sprintf("%s%d", words[r.Intn(len(words))], r.Intn(50))
		if r.Intn(3) == 0 {
			v = words[r.Intn(len(words))]
		}
		if live[v] && r.Intn(2) == 0 {
			idx.remove(v)
			delete(live, v)
		} else {
			idx.add(v)
			live[v] = true
		}
		if step%100 != 0 {
			continue
		}
		for _, p := range patterns {
			e, err := ParseExpr(KindAffinity, "container=="+p)
			require.NoError(t, err)
			var want, got []string
			for v := range live {
				if e.Match(v) {
					want = append(want, v)
				}
			}
			seen := map[string]bool{}
			idx.each(e.alts[0], func(v string) {
				if !seen[v] {
					seen[v] = true
					got = append(got, v)
				}
			})
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got, "step %d pattern %q", step, p)
		}
	}
	assert.LessOrEqual(t, idx.garbage, len(idx.buf)/2+64, "tombstones are reclaimed")
}
