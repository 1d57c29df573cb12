package cluster

import (
	"math/rand"
	"testing"
	"time"

	"github.com/docker/docker/api/types/system"
	"github.com/stretchr/testify/assert"
)

func TestValidateInfo(t *testing.T) {
	good := system.Info{ID: "ABCD", NCPU: 2, MemTotal: 1 << 30, ServerVersion: "20.10.24"}
	tests := []struct {
		name    string
		edit    func(*system.Info)
		wantErr string
	}{
		{name: "engine", edit: func(*system.Info) {}},
		{name: "classic manager", edit: func(i *system.Info) { i.ServerVersion = "swarm/1.2.9" }, wantErr: "is a swarm manager"},
		{name: "manager by status", edit: func(i *system.Info) { i.SystemStatus = [][2]string{{"Role", "primary"}} }, wantErr: "is a swarm manager"},
		{name: "no ID", edit: func(i *system.Info) { i.ID = "" }, wantErr: "not a Docker engine"},
		{name: "no CPUs", edit: func(i *system.Info) { i.NCPU = 0 }, wantErr: "reports 0 CPUs"},
		{name: "no memory", edit: func(i *system.Info) { i.MemTotal = 0 }, wantErr: "reports no memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := good
			tt.edit(&info)
			err := validateInfo("10.0.0.1:2375", info)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
			assert.ErrorContains(t, err, "10.0.0.1:2375")
		})
	}
}

func TestNodeLabels(t *testing.T) {
	got := nodeLabels(system.Info{
		Driver: "overlay2", KernelVersion: "6.1.0", OperatingSystem: "Debian GNU/Linux 12", OSType: "linux",
		Labels: []string{"zone=a", "disk=ssd", "flag"},
	})
	assert.Equal(t, map[string]string{
		"storagedriver": "overlay2", "kernelversion": "6.1.0", "operatingsystem": "Debian GNU/Linux 12",
		"ostype": "linux", "zone": "a", "disk": "ssd", "flag": "",
	}, got)
}

func TestBackoffIsCapped(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{attempt: 1, min: 900 * time.Millisecond, max: 1100 * time.Millisecond},
		{attempt: 2, min: 1800 * time.Millisecond, max: 2200 * time.Millisecond},
		{attempt: 3, min: 3600 * time.Millisecond, max: 4400 * time.Millisecond},
		{attempt: 50, min: 54 * time.Second, max: 66 * time.Second},
		{attempt: 1 << 20, min: 54 * time.Second, max: 66 * time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			d := backoff(time.Second, time.Minute, tt.attempt, rnd)
			assert.GreaterOrEqual(t, d, tt.min, "attempt %d", tt.attempt)
			assert.LessOrEqual(t, d, tt.max, "attempt %d", tt.attempt)
		}
	}
}
