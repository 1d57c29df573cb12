// Package filters holds the placement filters of swarm, one per file.
// Each implements scheduler.Filter (a per-node Check) and
// scheduler.Narrower (the same decision through the snapshot's indexes).
// Filters are stateless and safe for concurrent use. This package depends
// on scheduler only.
package filters

import (
	"fmt"
	"strings"

	"github.com/swarmlab/swarm/scheduler"
)

// Default returns the classic chain in its classic order: health, port,
// containerslots, dependency, affinity, constraint, whitelist.
func Default() []scheduler.Filter {
	return []scheduler.Filter{
		Health{}, Port{}, ContainerSlots{}, Dependency{}, Affinity{}, Constraint{}, Whitelist{},
	}
}

// ByName returns the named filters in the order given, for `--filter`
// flags. Names are case-insensitive; a repeated name is kept once.
func ByName(names []string) ([]scheduler.Filter, error) {
	all := Default()
	var out []scheduler.Filter
	seen := map[string]bool{}
	for _, name := range names {
		key := strings.ToLower(strings.TrimSpace(name))
		var found scheduler.Filter
		for _, f := range all {
			if f.Name() == key {
				found = f
			}
		}
		if found == nil {
			return nil, fmt.Errorf("unknown filter %q: valid filters are %s", name, strings.Join(Names(), ", "))
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, found)
		}
	}
	return out, nil
}

// Names lists the filter names in default order.
func Names() []string {
	var out []string
	for _, f := range Default() {
		out = append(out, f.Name())
	}
	return out
}
