package engine

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/segmentio/encoding/json"
	"github.com/stretchr/testify/require"
)

// inspectSeed is a dockerd 20.10 inspect answer, trimmed.
const inspectSeed = `{"Id":"7a5c3e1f0b9d","Created":"2026-11-22T05:48:01.123456789Z","Path":"sh","Args":["-c","sleep 1000"],` +
	`"State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":4242,"ExitCode":0,"Error":"","StartedAt":"2026-11-22T05:48:01.5Z","FinishedAt":"0001-01-01T00:00:00Z",` +
	`"Health":{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2026-11-22T05:48:02Z","End":"2026-11-22T05:48:02.1Z","ExitCode":0,"Output":"ok\n"}]}},` +
	`"Image":"sha256:3f57d9401f8d","Name":"/web","RestartCount":0,"Driver":"overlay2",` +
	`"HostConfig":{"NetworkMode":"default","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"Links":["/db:/web/db"],"NanoCpus":500000000,"CpuShares":0,"Memory":67108864},` +
	`"Mounts":[{"Type":"volume","Name":"data","Source":"/var/lib/docker/volumes/data/_data","Destination":"/data","Driver":"local","Mode":"z","RW":true,"Propagation":""}],` +
	`"Config":{"Hostname":"7a5c3e1f0b9d","Image":"busybox","Labels":{"com.example.tier":"front","empty":""},"ExposedPorts":{"80/tcp":{}},"Env":["PATH=/bin"]},` +
	`"NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],"81/udp":null},` +
	`"Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"9c1d","EndpointID":"e0f1","Gateway":"172.17.0.1","IPAddress":"172.17.0.2","IPPrefixLen":16,"MacAddress":"02:42:ac:11:00:02","DriverOpts":null,"DNSNames":null}}}}`

// FuzzDecodeLikeStd checks that the decoder the engine package uses for
// inspect answers (segmentio's) agrees with encoding/json: the same inputs
// rejected, the same values otherwise.
func FuzzDecodeLikeStd(f *testing.F) {
	f.Add([]byte(inspectSeed))
	f.Add([]byte(`{"Id":"a","Config":{"Labels":{"a":"b","c":null}},"State":null}`))
	f.Add([]byte(`{"id":"\u00e9\ud800x","ID":"dup","Args":["a",1]}`))
	f.Add([]byte("{\"Name\":\"bad utf8 \xff\", \"Image\":\"\xed\xa0\x80\"}")) // invalid UTF-8 bytes
	f.Add([]byte(`{"Name":"x"}trailing`))
	// A lenient time parser once disagreed here (the health log's times,
	// no longer decoded).
	f.Add([]byte(`{"StAte":{"HeAlth":{"Log":[{"End":"0000-01-01T0:00:00,0Z"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, std := newInspectWire(), newInspectWire()
		errOurs, errStd := json.Unmarshal(data, ours), stdjson.Unmarshal(data, std)
		require.Equal(t, errStd == nil, errOurs == nil, "inspect answer %q: encoding/json says %v, ours %v", data, errStd, errOurs)
		if errStd == nil {
			require.Equal(t, std, ours, "inspect answer %q", data)
		}
	})
}

// BenchmarkInspectDecode decodes a dockerd inspect answer as the engine
// package does, for its time and garbage per answer.
func BenchmarkInspectDecode(b *testing.B) {
	data := []byte(inspectSeed)
	b.ReportAllocs()
	for b.Loop() {
		w := newInspectWire()
		if err := json.Unmarshal(data, w); err != nil {
			b.Fatal(err)
		}
		_ = w.response()
	}
}

// chunked returns data in reads of at most n bytes, as a network stream
// may.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.data))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

// FuzzEventStreamLikeStd checks the event stream's line decoder against
// encoding/json's Decoder, which read the stream before: the same events
// in the same order, then the same kind of end (the stream's end, or an
// error), whatever the lines and however the reads split them.
func FuzzEventStreamLikeStd(f *testing.F) {
	ev := `{"status":"start","id":"7a5c","from":"busybox","Type":"container","Action":"start",` +
		`"Actor":{"ID":"7a5c","Attributes":{"image":"busybox","name":"web"}},"scope":"local","time":1763790481,"timeNano":1763790481500000000}`
	long := `{"Type":"container","Action":"create","Actor":{"ID":"x","Attributes":{"big":"` + strings.Repeat("y", 3000) + `"}}}`
	for _, seed := range []string{
		ev + "\n" + ev + "\n",
		ev + "\n\n  \r\n" + ev, // blank lines, no final newline
		ev + " " + ev + "\n",   // two on a line
		"{\n\"Type\":\"network\",\n\"Action\":\"connect\"\n}\n" + ev + "\n", // one across lines
		long + "\n" + ev + "\n", // longer than the read buffer
		ev + "\n" + `{"Type":"container","time":"soon"}` + "\n" + ev + "\n", // a wrong type
		ev + "\n" + ev[:40], // cut inside an event
		ev + "\nnot json\n",
		"null\n[]\n" + ev + "\n",
	} {
		f.Add([]byte(seed), uint8(7))
		f.Add([]byte(seed), uint8(200))
	}
	f.Fuzz(func(t *testing.T, stream []byte, n uint8) {
		ours := newEventDecoder(&chunked{data: stream, n: int(n)%600 + 1})
		std := stdjson.NewDecoder(bytes.NewReader(stream))
		for i := 0; ; i++ {
			m, want := newMessage(), newMessage()
			err, errStd := ours.decode(&m), std.Decode(&want)
			require.Equal(t, errStd == nil, err == nil, "event %d of %q: encoding/json says %v, ours %v", i, stream, errStd, err)
			if errStd != nil {
				require.Equal(t, errors.Is(errStd, io.EOF), errors.Is(err, io.EOF), "event %d of %q: encoding/json ends with %v, ours with %v", i, stream, errStd, err)
				return
			}
			require.Equal(t, want, m, "event %d of %q", i, stream)
			require.Less(t, i, len(stream)+1, "more events than bytes")
		}
	})
}
