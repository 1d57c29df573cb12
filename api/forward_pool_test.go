package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProxyBuffersRecycleOnlyFullBuffers(t *testing.T) {
	b := &bufferPool{}
	buf := b.Get()
	assert.Len(t, buf, proxyBufferSize)
	b.Put(buf[:10]) // the proxy may hand back a resliced buffer
	assert.Len(t, b.Get(), proxyBufferSize, "a recycled buffer is whole again")
	b.Put(make([]byte, 10))
	assert.Len(t, b.Get(), proxyBufferSize, "a foreign small buffer is never handed out")
}
