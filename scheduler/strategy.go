package scheduler

import (
	"fmt"
	"strings"
)

// Strategy ranks the nodes that passed the filters.
type Strategy int

const (
	// Spread picks the node with the least reserved CPU and memory after
	// placement, then the one with the fewest containers. The zero value,
	// and the default.
	Spread Strategy = iota
	// Binpack picks the fullest node that still fits, then the one with
	// the most containers.
	Binpack
	// Random picks uniformly among the nodes that fit.
	Random
)

var strategyNames = []string{"spread", "binpack", "random"}

// String returns the strategy's name as `--strategy` and `docker info`
// spell it.
func (st Strategy) String() string {
	if st >= 0 && int(st) < len(strategyNames) {
		return strategyNames[st]
	}
	return fmt.Sprintf("Strategy(%d)", int(st))
}

// ParseStrategy reads a `--strategy` value.
func ParseStrategy(name string) (Strategy, error) {
	for i, n := range strategyNames {
		if strings.EqualFold(strings.TrimSpace(name), n) {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown strategy %q: valid strategies are %s",
		name, strings.Join(strategyNames, ", "))
}

// score is how full a node would be after placement: the fractions of
// its CPU and memory reserved, summed. The overcommit ratio scales every
// node alike, so it does not change the ranking and is left out. A node
// that reports no total contributes 0 for that resource.
func score(usedCPU, reqCPU int64, invCPU float64, usedMem, reqMem int64, invMem float64) float64 {
	return float64(usedCPU+reqCPU)*invCPU + float64(usedMem+reqMem)*invMem
}

// fits reports whether req more of a resource fits on a node with total
// and used, with the overcommit ratio. Asking for nothing always fits.
func fits(used, req, total int64, overcommit float64) bool {
	return req <= 0 || float64(used+req) <= float64(total)*(1+overcommit)
}
