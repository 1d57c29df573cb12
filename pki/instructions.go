package pki

import (
	"fmt"
	"sort"
	"strings"
)

// Instructions says what Create wrote and how to use it: the dockerd
// flags for each engine, the swarm manage flags and the docker CLI
// environment. `swarm certs create` prints it after a successful Create.
func (l Layout) Instructions() string {
	var b strings.Builder
	if l.CA != "" {
		fmt.Fprintf(&b, "CA: %s (keep %s secret and offline; it signs everything)\n", l.CA, l.CAKey)
	}
	if len(l.Nodes) > 0 {
		b.WriteString("\nEngines: copy nodes/NAME/ to each engine and start dockerd with:\n")
		for _, name := range sortedKeys(l.Nodes) {
			n := l.Nodes[name]
			fmt.Fprintf(&b, "  %s: dockerd -H tcp://0.0.0.0:%d --tlsverify --tlscacert %s --tlscert %s --tlskey %s\n",
				name, EngineTLSPort, n.CA, n.Cert, n.Key)
		}
	}
	if l.Manager.Dir != "" {
		fmt.Fprintf(&b, "\nManager:\n  swarm manage -H tcp://0.0.0.0:%d --tlsverify --tlscacert %s --tlscert %s --tlskey %s \\\n"+
			"    --engine-tlscacert %s --engine-tlscert %s --engine-tlskey %s DISCOVERY\n",
			DefaultTLSPort, l.Manager.CA, l.Manager.Cert, l.Manager.Key, l.ManagerClient.CA, l.ManagerClient.Cert, l.ManagerClient.Key)
	}
	if len(l.Clients) > 0 {
		b.WriteString("\nDocker CLI:\n")
		for _, name := range sortedKeys(l.Clients) {
			fmt.Fprintf(&b, "  %s: DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=%s DOCKER_HOST=tcp://MANAGER:%d docker info\n",
				name, l.Clients[name].Dir, DefaultTLSPort)
		}
	}
	return b.String()
}

func sortedKeys(m map[string]Bundle) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
