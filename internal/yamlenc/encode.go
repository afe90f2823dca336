package yamlenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrDuplicateKey reports a JSON object that names the same key twice. YAML
// forbids duplicate mapping keys, so such input cannot be converted faithfully.
// Marshal never produces it; FromJSON can meet it in hand-written JSON.
var ErrDuplicateKey = errors.New("yamlenc: duplicate object key")

// SyntaxError reports malformed JSON passed to FromJSON or AppendFromJSON.
type SyntaxError struct {
	// Offset is the byte offset in the input at which the problem was found.
	Offset int
	msg    string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("yamlenc: invalid JSON at offset %d: %s", e.Offset, e.msg)
}

// maxDepth matches encoding/json's nesting limit, so anything Marshal's JSON
// step accepts converts, and hostile input cannot exhaust the stack.
const maxDepth = 10000

var jsonBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Marshal returns the YAML encoding of v. It encodes v with encoding/json
// (without HTML escaping), so json tags, omitempty and MarshalJSON methods
// apply exactly as they do for JSON, and then converts that JSON to YAML with
// AppendFromJSON.
func Marshal(v any) ([]byte, error) {
	return Options{}.Marshal(v)
}

// Encode writes the YAML encoding of v to w. See Marshal.
func Encode(w io.Writer, v any) error {
	out, err := Marshal(v)
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("yamlenc: write: %w", err)
	}
	return nil
}

// FromJSON converts one JSON value to YAML. Object keys keep their input
// order. It returns a *SyntaxError for malformed JSON and an error wrapping
// ErrDuplicateKey if an object repeats a key.
func FromJSON(data []byte) ([]byte, error) {
	return AppendFromJSON(make([]byte, 0, outputSizeHint(len(data))), data)
}

// AppendFromJSON is like FromJSON but appends the YAML to dst and returns the
// extended slice, so callers can reuse buffers. On error the returned slice is
// dst truncated to its original length.
func AppendFromJSON(dst, data []byte) ([]byte, error) {
	return Options{}.AppendFromJSON(dst, data)
}

// Options configures the YAML layout. The zero value gives the layout of
// Marshal and FromJSON.
type Options struct {
	// FlowWidth, when positive, writes a non-empty object or array that is
	// a mapping value or sequence item (never the document itself) in flow
	// style, as in "arguments: {parameters: [{name: x, value: '1'}]}", if
	// its flow text, from the opening bracket to the closing one, is at
	// most FlowWidth bytes and it holds no multi-line string and no key
	// long enough to need the explicit "? key" form. Collections nested in
	// a flow collection are flow too. A collection whose JSON text exceeds
	// 4*FlowWidth+64 bytes is never written in flow style, which bounds the
	// look-ahead and only matters for heavily escaped or indented JSON.
	// Zero or negative means block style everywhere.
	FlowWidth int
}

// Marshal is like the package-level Marshal but uses the layout o.
func (o Options) Marshal(v any) ([]byte, error) {
	buf := jsonBufPool.Get().(*bytes.Buffer)
	defer putJSONBuf(buf)
	if err := encodeJSON(buf, v); err != nil {
		return nil, err
	}
	return o.AppendFromJSON(make([]byte, 0, outputSizeHint(buf.Len())), buf.Bytes())
}

// FromJSON is like the package-level FromJSON but uses the layout o.
func (o Options) FromJSON(data []byte) ([]byte, error) {
	return o.AppendFromJSON(make([]byte, 0, outputSizeHint(len(data))), data)
}

// AppendFromJSON is like the package-level AppendFromJSON but uses the
// layout o. Its output is a function of data and o alone.
func (o Options) AppendFromJSON(dst, data []byte) ([]byte, error) {
	// Clamp so that width arithmetic cannot overflow; no flow line is
	// anywhere near this long in practice.
	c := converter{in: data, out: dst, flowWidth: min(o.FlowWidth, maxFlowWidth)}
	if err := c.document(); err != nil {
		return dst, err
	}
	return c.out, nil
}

func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("yamlenc: encode %T as JSON: %w", v, err)
	}
	return nil
}

func putJSONBuf(buf *bytes.Buffer) {
	// Keep pooled buffers bounded so one huge document does not pin memory.
	if buf.Cap() > 64<<20 {
		return
	}
	buf.Reset()
	jsonBufPool.Put(buf)
}

// outputSizeHint guesses the YAML size from the JSON size. Block YAML drops
// most quotes, braces and commas but adds indentation; for Kubernetes objects
// it lands within about ±25% of the compact JSON.
func outputSizeHint(n int) int {
	return n + n/4 + 64
}
