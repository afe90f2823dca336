package api

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// decodeBatchFast parses the common shape of a LogBatchRequest — objects with the documented
// keys in lowercase, strings without escapes, plain numbers — about ten times faster than
// encoding/json, since metric ingestion is the API's hot path. It reports ok=false for anything
// else (escapes, null, unknown or differently cased keys, malformed input), and the caller then
// decodes with encoding/json, which produces the error messages and field names.
func decodeBatchFast(b []byte) (req LogBatchRequest, ok bool) {
	p := batchParser{b: b}
	if !p.object(func(key []byte) bool {
		switch string(key) {
		case "params":
			req.Params = req.Params[:0]
			return p.array(func() bool {
				var kv Param
				ok := p.object(func(k []byte) bool { return p.kv(k, &kv.Key, &kv.Value) })
				req.Params = append(req.Params, kv)
				return ok
			})
		case "tags":
			req.Tags = req.Tags[:0]
			return p.array(func() bool {
				var kv Tag
				ok := p.object(func(k []byte) bool { return p.kv(k, &kv.Key, &kv.Value) })
				req.Tags = append(req.Tags, kv)
				return ok
			})
		case "metrics":
			req.Metrics = req.Metrics[:0]
			return p.array(func() bool {
				var m Metric
				ok := p.object(func(k []byte) bool {
					switch string(k) {
					case "key":
						s, ok := p.str()
						m.Key = s
						return ok
					case "value":
						tok := p.num()
						v, err := strconv.ParseFloat(string(tok), 64)
						m.Value = v
						return err == nil
					case "step":
						tok := p.num()
						v, err := strconv.ParseInt(string(tok), 10, 64)
						m.Step = v
						return err == nil
					case "timestamp":
						tok := p.num()
						v, err := strconv.ParseInt(string(tok), 10, 64)
						m.Timestamp = v
						return err == nil
					}
					return false
				})
				req.Metrics = append(req.Metrics, m)
				return ok
			})
		}
		return false
	}) {
		return LogBatchRequest{}, false
	}
	p.ws()
	return req, p.i == len(p.b)
}

type batchParser struct {
	b []byte
	i int
}

func (p *batchParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *batchParser) eat(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of valid UTF-8 without escapes or control characters.
func (p *batchParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	end := bytes.IndexByte(p.b[p.i:], '"')
	if end < 0 {
		return "", false
	}
	s := p.b[p.i : p.i+end]
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(s) { // encoding/json would replace invalid bytes with U+FFFD
		return "", false
	}
	p.i += end + 1
	return string(s), true
}

// num returns the bytes of a JSON number (validated by the caller's strconv call; strconv
// accepts a few forms JSON does not, such as "+1", "0x10" or "Inf", which are excluded here).
func (p *batchParser) num() []byte {
	p.ws()
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '.' || c == 'e' || c == 'E' || c == '+' && p.i > start {
			p.i++
			continue
		}
		break
	}
	tok := p.b[start:p.i]
	if len(tok) == 0 || tok[0] == '.' || bytes.HasPrefix(tok, []byte("-.")) ||
		len(tok) > 1 && tok[0] == '0' && tok[1] >= '0' && tok[1] <= '9' ||
		len(tok) > 2 && tok[0] == '-' && tok[1] == '0' && tok[2] >= '0' && tok[2] <= '9' ||
		tok[len(tok)-1] == '.' || bytes.Contains(tok, []byte(".e")) || bytes.Contains(tok, []byte(".E")) {
		return nil
	}
	return tok
}

// object parses {"k": v, ...}, calling field for each key with the parser at the value.
func (p *batchParser) object(field func(key []byte) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.eat(':') || !field([]byte(k)) {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// array parses [v, ...], calling elem for each element.
func (p *batchParser) array(elem func() bool) bool {
	if !p.eat('[') {
		return false
	}
	if p.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat(']')
	}
}

func (p *batchParser) kv(k []byte, key, value *string) bool {
	var ok bool
	switch string(k) {
	case "key":
		*key, ok = p.str()
	case "value":
		*value, ok = p.str()
	}
	return ok
}
