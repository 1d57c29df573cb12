package scheduler

import (
	"fmt"
	"math/rand"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// valueModel is the naive reference for a valueIndex: value → slots.
type valueModel map[string]map[int32]bool

func (m valueModel) nodes(match func(string) bool) []int32 {
	var out []int32
	for v, slots := range m {
		if match(v) {
			for i := range slots {
				if !slices.Contains(out, i) {
					out = append(out, i)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func setSlots(set *NodeSet) []int32 {
	var out []int32
	set.each(func(i int32) bool { out = append(out, i); return true })
	return out
}

// TestValueIndexMatchesModel churns a valueIndex through growth,
// tombstones, rehashes and text rebuilds, with values on one and on many
// slots, and compares lookups, globs and regular expressions with a plain
// scan of a model after every few steps.
func TestValueIndexMatchesModel(t *testing.T) {
	const slots = 40 // past denseAt, so postings go dense too
	r := rand.New(rand.NewSource(1))
	x := newValueIndex()
	model := valueModel{}
	words := []string{"redis", "web", "db", "redis-counter", "x/redis", "a\nb", "web-1", "re", "dis", ""}
	globs := []string{"*redis*", "redis*", "*dis", "re*dis", "*-*", "*", "*/*", "web-1", "a*b", "*e*e*", "a\nb", "redis", "*1*"}
	regexps := []string{"^re", "dis$", "(?i)WEB", "^$", "\n", "[0-9]{3}"}
	value := func() string {
		if r.Intn(4) == 0 {
			return words[r.Intn(len(words))]
		}
		return fmt.Sprintf("%s%d", words[r.Intn(len(words))], r.Intn(400))
	}
	maxLive, rebuilds := 0, 0
	textLen := len(x.text)
	for step := 0; step < 20000; step++ {
		v, i := value(), int32(r.Intn(slots))
		if step%5000 < 3000 { // grow, then shrink
			x.add(v, i)
			if model[v] == nil {
				model[v] = map[int32]bool{}
			}
			model[v][i] = true
		} else {
			if model[v] == nil {
				for held := range model { // remove a value that is held
					v = held
					break
				}
			}
			for held := range model[v] { // from a slot that holds it
				i = held
				break
			}
			x.remove(v, i)
			if delete(model[v], i); len(model[v]) == 0 {
				delete(model, v)
			}
		}
		maxLive = max(maxLive, x.live)
		if x.garbage == 0 && len(x.text) < textLen {
			rebuilds++
		}
		textLen = len(x.text)
		if step%250 != 0 {
			continue
		}
		inModel := 0
		for v := range model {
			if !containsNewline(v) {
				inModel++
			}
		}
		require.Equal(t, inModel, x.live, "step %d: live values", step)
		for _, v := range append(words, value(), value(), value()) {
			var set NodeSet
			set.reset(1)
			x.get(v).orInto(&set)
			require.Equal(t, model.nodes(func(w string) bool { return w == v }), setSlots(&set), "step %d: get %q", step, v)
		}
		for _, p := range globs {
			e, err := ParseExpr(KindAffinity, "container=="+p)
			require.NoError(t, err)
			var set NodeSet
			set.reset(1)
			x.orGlob(&set, e.alts[0])
			require.Equal(t, model.nodes(e.alts[0].match), setSlots(&set), "step %d: glob %q", step, p)
		}
		for _, p := range regexps {
			re := regexp.MustCompile(p)
			var set NodeSet
			set.reset(1)
			x.orRegexp(&set, re)
			require.Equal(t, model.nodes(re.MatchString), setSlots(&set), "step %d: regexp %q", step, p)
		}
		shared := 0
		for k, tag := range x.tags {
			if tag > tagDead && x.slots[k].node < 0 {
				shared++
				require.NotNil(t, x.multi[-x.slots[k].node-1], "step %d: slot %d's posting", step, k)
			}
		}
		require.Equal(t, len(x.multi)-len(x.free), shared, "step %d: postings of shared values are recycled", step)
		assert.LessOrEqual(t, x.garbage, len(x.text)/2+64, "step %d: garbage is reclaimed", step)
		assert.LessOrEqual(t, (x.live+x.dead)*8, len(x.slots)*7, "step %d: table load", step)
	}
	assert.Greater(t, maxLive, 1000, "the churn grew the table")
	assert.Greater(t, rebuilds, 2, "the churn rebuilt the text")
}

func containsNewline(v string) bool { return slices.Contains([]byte(v), '\n') }

// TestValueIndexForeignByteSkipsSweep checks that a needle with a byte no
// value holds finds nothing without sweeping, and that a rebuild forgets
// the bytes of removed values.
func TestValueIndexForeignByteSkipsSweep(t *testing.T) {
	x := newValueIndex()
	x.add("abc123", 0)
	x.add("web-1", 1)
	require.True(t, x.alphabet['-'])
	x.remove("web-1", 1)
	for k := 0; x.garbage > 0; k++ { // churn until the text is rebuilt
		v := fmt.Sprintf("%x", k)
		x.add(v, 2)
		x.remove(v, 2)
	}
	assert.False(t, x.alphabet['-'], "a rebuild drops bytes no live value holds")
	e, err := ParseExpr(KindAffinity, "container==*b-*")
	require.NoError(t, err)
	var set NodeSet
	set.reset(1)
	x.orGlob(&set, e.alts[0])
	assert.Zero(t, set.Len())
	x.get("abc123").orInto(&set)
	assert.Equal(t, []int32{0}, setSlots(&set))
}
