package token

// kill stops gossip without leaving, as a crashed agent would (tests only).
func (a *Agent) kill() {
	a.stop.Do(func() { _ = a.ml.Shutdown() })
}
