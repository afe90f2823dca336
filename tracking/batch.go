package tracking

import (
	"math"
	"strconv"
)

// MLflow's log-batch limits, which every request the client sends respects.
const (
	MaxMetricsPerRequest = 1000
	MaxParamsPerRequest  = 100
	MaxTagsPerRequest    = 100
	MaxItemsPerRequest   = 1000
)

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// jsonFloat is a double encoded as protobuf's JSON mapping does: NaN and infinities as strings.
type jsonFloat float64

// MarshalJSON writes NaN and infinities as strings, which JSON numbers cannot hold.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

type metric struct {
	Key       string    `json:"key"`
	Value     jsonFloat `json:"value"`
	Timestamp int64     `json:"timestamp"`
	Step      int64     `json:"step"`
}

type logBatchRequest struct {
	RunID   string     `json:"run_id"`
	Metrics []metric   `json:"metrics,omitempty"`
	Params  []keyValue `json:"params,omitempty"`
	Tags    []keyValue `json:"tags,omitempty"`
}

// buffer holds items not sent yet, in logging order per kind.
type buffer struct {
	params  []keyValue
	tags    []keyValue
	metrics []metric
}

func (b *buffer) len() int    { return len(b.params) + len(b.tags) + len(b.metrics) }
func (b *buffer) empty() bool { return b.len() == 0 }

// full reports whether the buffer fills a request up to one of the limits.
func (b *buffer) full() bool {
	return len(b.metrics) >= MaxMetricsPerRequest || len(b.params) >= MaxParamsPerRequest ||
		len(b.tags) >= MaxTagsPerRequest || b.len() >= MaxItemsPerRequest
}

// take removes the items of the next request: params first (their conflicts fail early), then
// tags, then metrics, within every limit.
func (b *buffer) take() buffer {
	var r buffer
	n := min(len(b.params), MaxParamsPerRequest)
	r.params, b.params = b.params[:n:n], b.params[n:]
	n = min(len(b.tags), MaxTagsPerRequest, MaxItemsPerRequest-len(r.params))
	r.tags, b.tags = b.tags[:n:n], b.tags[n:]
	n = min(len(b.metrics), MaxMetricsPerRequest, MaxItemsPerRequest-len(r.params)-len(r.tags))
	r.metrics, b.metrics = b.metrics[:n:n], b.metrics[n:]
	return r
}

// prepend puts r's items before b's.
func (b *buffer) prepend(r buffer) {
	b.params = append(r.params[:len(r.params):len(r.params)], b.params...)
	b.tags = append(r.tags[:len(r.tags):len(r.tags)], b.tags...)
	b.metrics = append(r.metrics[:len(r.metrics):len(r.metrics)], b.metrics...)
}

// append puts r's items after b's.
func (b *buffer) append(r buffer) {
	b.params = append(b.params, r.params...)
	b.tags = append(b.tags, r.tags...)
	b.metrics = append(b.metrics, r.metrics...)
}
