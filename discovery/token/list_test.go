package token

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRouteAdvertise(t *testing.T) {
	tests := []struct {
		name, bind string
		seeds      []string
		want       string
	}{
		{name: "wildcard bind takes the route to the seed", bind: "0.0.0.0:0", seeds: []string{"127.0.0.1:7946"}, want: "127.0.0.1:0"},
		{name: "empty host is a wildcard", bind: ":0", seeds: []string{"127.0.0.1:7946"}, want: "127.0.0.1:0"},
		{name: "explicit bind is left to memberlist", bind: "127.0.0.1:0", seeds: []string{"127.0.0.1:7946"}, want: ""},
		{name: "no seed", bind: "0.0.0.0:0", want: ""},
		{name: "bad bind", bind: "nonsense", seeds: []string{"127.0.0.1:7946"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, routeAdvertise(tt.bind, tt.seeds))
		})
	}
}
