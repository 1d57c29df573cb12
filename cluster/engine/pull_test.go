package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDrainPull(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		wantErr string
	}{
		{name: "success", stream: `{"status":"Pulling from library/busybox"}` + "\n" + `{"status":"Downloaded newer image"}`},
		{name: "empty", stream: ""},
		{name: "error detail", stream: `{"status":"Pulling"}{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`, wantErr: "manifest unknown"},
		{name: "bare error", stream: `{"error":"pull access denied"}`, wantErr: "pull access denied"},
		{name: "cut stream", stream: `{"status":"Pul`, wantErr: "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := drainPull(strings.NewReader(tt.stream))
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func FuzzDrainPull(f *testing.F) {
	f.Add(`{"status":"ok"}`)
	f.Add(`{"error":"x"}`)
	f.Add(`{"errorDetail":{"message":"y"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		err := drainPull(strings.NewReader(s))
		// An error the engine reported must surface, whatever follows it.
		if strings.Contains(s, `{"error":"boom"}`) && err == nil {
			t.Fatalf("reported error lost in %q", s)
		}
	})
}
