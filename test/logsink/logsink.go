// Package logsink captures what a component under test logs, from any
// number of goroutines, for tests to read back.
package logsink

import (
	"strings"
	"sync"
)

// Buffer is an io.Writer safe for concurrent use that keeps everything
// written to it. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
