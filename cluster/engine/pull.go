package engine

import (
	"encoding/json"
	"io"
)

// pullDecoder reads the engine's pull progress stream: a sequence of JSON
// objects, of which those with "error" report a failed pull.
type pullDecoder struct {
	dec *json.Decoder
}

func newPullDecoder(r io.Reader) *pullDecoder {
	return &pullDecoder{dec: json.NewDecoder(r)}
}

// next returns the error message of the next progress object ("" when it
// reports progress), io.EOF at the end, or a decoding error.
func (d *pullDecoder) next() (string, error) {
	var msg struct {
		Error       string `json:"error"`
		ErrorDetail struct {
			Message string `json:"message"`
		} `json:"errorDetail"`
	}
	if err := d.dec.Decode(&msg); err != nil {
		return "", err
	}
	if msg.ErrorDetail.Message != "" {
		return msg.ErrorDetail.Message, nil
	}
	return msg.Error, nil
}
