package engine

import (
	"bufio"
	"bytes"
	stdjson "encoding/json"
	"errors"
	"io"

	"github.com/docker/docker/api/types/events"
	"github.com/segmentio/encoding/json" // see inspect.go
)

// eventDecoder reads an engine's event stream. dockerd writes one JSON
// object per line (a json.Encoder, which ends each value with a newline),
// so each line is decoded on its own with segmentio's Unmarshal: 1.2-1.9
// instead of 6.2-7.9 us per event with encoding/json's Decoder, which
// scans every value once to find its end and once more to decode it.
// Should a line not hold exactly one value (an engine that writes JSON
// some other way), encoding/json's Decoder reads the rest of the stream
// from that line on, as it always did; an invalid event then fails there
// as it did before.
type eventDecoder struct {
	r *bufio.Reader
	// long pieces together a line longer than r's buffer; it is kept for
	// the next one.
	long []byte
	// std, once set, decodes everything that follows.
	std *stdjson.Decoder
}

// newEventDecoder reads events from r. It is not inlined, so the decoder
// lives on the heap rather than in the frame of the stream's reader (see
// Engine.readStream).
//
//go:noinline
func newEventDecoder(r io.Reader) *eventDecoder {
	return &eventDecoder{r: bufio.NewReaderSize(r, streamReadBuffer)}
}

// newMessage is a Message to decode into. Its attribute map is made for a
// few attributes: given none, segmentio's decoder makes one of 64 slots
// (4.9 KB per event) and fills a map it finds made, as encoding/json does.
// An event without attributes thus has an empty map rather than none,
// which nothing tells apart (the API rebuilds every engine event's map to
// add the node's).
func newMessage() events.Message {
	return events.Message{Actor: events.Actor{Attributes: make(map[string]string, 8)}}
}

// decode reads the next event into m. It returns io.EOF at the end of the
// stream and io.ErrUnexpectedEOF when it ends inside an event, as a
// json.Decoder does.
func (d *eventDecoder) decode(m *events.Message) error {
	if d.std != nil {
		*m = newMessage()
		return d.std.Decode(m)
	}
	for {
		line, err := d.readLine()
		if blank(line) {
			if err != nil {
				return err
			}
			continue
		}
		*m = newMessage()
		if json.Unmarshal(line, m) == nil {
			if cap(d.long) > maxKeptLine {
				d.long = nil
			}
			return nil // a read error after the line comes with the next call
		}
		// Not exactly one value: encoding/json takes over from this line.
		return d.fallBack(line, err, m)
	}
}

// fallBack hands the stream to encoding/json from line on (err ended the
// line early). Out of decode, whose frame sits under every parked read of
// the stream (see Engine.readStream).
//
//go:noinline
func (d *eventDecoder) fallBack(line []byte, err error, m *events.Message) error {
	tail := io.Reader(d.r)
	if err != nil {
		tail = errReader{err}
	}
	d.std = stdjson.NewDecoder(io.MultiReader(bytes.NewReader(bytes.Clone(line)), tail))
	d.long = nil
	*m = newMessage()
	return d.std.Decode(m)
}

// readLine returns the next line, newline included when there is one; it
// is valid until the next call. err is the read error that ended the
// line early (io.EOF at the end of the stream).
func (d *eventDecoder) readLine() ([]byte, error) {
	line, err := d.r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	d.long = append(d.long[:0], line...)
	for {
		line, err = d.r.ReadSlice('\n')
		d.long = append(d.long, line...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return d.long, err
		}
	}
}

// maxKeptLine bounds the buffer a long line leaves behind for the next.
const maxKeptLine = 64 << 10

// blank reports whether b holds only JSON whitespace.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// errReader is a reader that fails with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
