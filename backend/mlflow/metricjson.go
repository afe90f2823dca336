package mlflow

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// metricFields is metric without its methods: the general decoder that metric.UnmarshalJSON
// falls back to.
type metricFields struct {
	Key       string `json:"key"`
	Value     float  `json:"value"`
	Timestamp int64s `json:"timestamp"`
	Step      int64s `json:"step"`
}

// UnmarshalJSON decodes a Metric message. log-batch carries up to 1000 of them per request, so
// the common shape — the four fields with plain strings and numbers — is parsed directly, and
// anything else (escapes, null, unknown fields, malformed input) goes through encoding/json.
func (m *metric) UnmarshalJSON(b []byte) error {
	if fast(b, m) {
		return nil
	}
	var f metricFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = metric(f)
	return nil
}

// fast parses {"key": "...", "value": n, "timestamp": n, "step": n} in any order; it reports
// false, leaving m in an unspecified state, for any other input.
func fast(b []byte, m *metric) bool {
	*m = metric{}
	p := &scan{b: b}
	if !p.byte('{') {
		return false
	}
	if p.peek() == '}' {
		p.i++
		return p.end()
	}
	for {
		name, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		switch string(name) {
		case "key":
			k, ok := p.str()
			if !ok {
				return false
			}
			m.Key = string(k)
		case "value":
			if p.peek() == '"' {
				s, ok := p.str()
				if !ok {
					return false
				}
				switch string(s) {
				case "NaN":
					m.Value = float(math.NaN())
				case "Infinity":
					m.Value = float(math.Inf(1))
				case "-Infinity":
					m.Value = float(math.Inf(-1))
				default:
					return false
				}
				break
			}
			v, err := strconv.ParseFloat(string(p.num()), 64)
			if err != nil {
				return false
			}
			m.Value = float(v)
		case "timestamp", "step":
			quoted := p.peek() == '"'
			if quoted {
				p.i++
			}
			n, err := strconv.ParseInt(string(p.num()), 10, 64)
			if err != nil || quoted && !p.byte('"') {
				return false
			}
			if string(name) == "timestamp" {
				m.Timestamp = int64s(n)
			} else {
				m.Step = int64s(n)
			}
		default:
			return false
		}
		switch p.next() {
		case ',':
		case '}':
			return p.end()
		default:
			return false
		}
	}
}

// scan reads JSON tokens from b.
type scan struct {
	b []byte
	i int
}

func (p *scan) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *scan) peek() byte {
	p.ws()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

func (p *scan) next() byte {
	c := p.peek()
	if c != 0 {
		p.i++
	}
	return c
}

func (p *scan) byte(c byte) bool { return p.next() == c }

func (p *scan) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// str reads a string without escapes or control characters.
func (p *scan) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	j := bytes.IndexByte(p.b[p.i:], '"')
	if j < 0 {
		return nil, false
	}
	s := p.b[p.i : p.i+j]
	ascii := true
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return nil, false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if !ascii && !utf8.Valid(s) { // encoding/json replaces invalid UTF-8
		return nil, false
	}
	p.i += j + 1
	return s, true
}

// num reads the characters a JSON number may contain; the caller's parser validates them.
func (p *scan) num() []byte {
	p.ws()
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	return p.b[start:p.i]
}
