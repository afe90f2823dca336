package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// decodeBatchSlow is the reference: encoding/json with the API's strictness.
func decodeBatchSlow(b []byte) (LogBatchRequest, bool) {
	var req LogBatchRequest
	r := httptest.NewRequest("POST", "/", bytes.NewReader(b))
	err := decodeJSON(r, &req)
	return req, err == nil
}

var batchSeeds = []string{
	`{}`,
	`{"metrics":[{"key":"loss","value":0.5,"step":3,"timestamp":1700000000000}]}`,
	`{"params":[{"key":"lr","value":"0.1"}],"tags":[{"key":"t","value":"v"}],"metrics":[]}`,
	` { "metrics" : [ { "key" : "a" , "value" : -1.5e-3 , "step" : -2 } ] } `,
	`{"metrics":[{"key":"a","value":1e400}]}`,
	`{"metrics":[{"key":"a","value":01}]}`,
	`{"metrics":[{"key":"a","value":1.}]}`,
	`{"metrics":[{"key":"a","value":.5}]}`,
	`{"metrics":[{"key":"a","value":+1}]}`,
	`{"metrics":[{"key":"a","value":"1"}]}`,
	`{"metrics":[{"key":"a","value":null}]}`,
	`{"metrics":[{"Key":"a","value":1}]}`,
	`{"metrics":[{"key":"a\"b","value":1}]}`,
	`{"metrics":[{"key":"a","value":1,"colour":2}]}`,
	`{"metrics":[{"key":"a","value":1}]}x`,
	`{"metrics":[{"key":"a","value":1},]}`,
	`{"metrics":[{"key":"a","step":1.5}]}`,
	`{"metrics":[{"key":"a","value":Infinity}]}`,
	`{"metrics":[{"key":"a","value":0x10}]}`,
	`{"metrics":[{"key":"é","value":-0}]}`,
	`{"params":[{"key":"a","value":"b"}],"params":[]}`,
	`[]`,
	``,
	"{\"tags\":[{\"key\":\"\xff\",\"value\":\"\"}]}",
}

// FuzzDecodeBatchFast checks that the fast path never accepts what encoding/json rejects and
// never decodes differently.
func FuzzDecodeBatchFast(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeBatchFast(b)
		if !ok {
			return
		}
		slow, sok := decodeBatchSlow(b)
		if !sok {
			t.Fatalf("fast path accepted %q, encoding/json rejects it", b)
		}
		if d := cmp.Diff(slow, fast, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("decoding %q differs (-json +fast):\n%s", b, d)
		}
	})
}

func TestDecodeBatchFastAcceptsCommonShape(t *testing.T) {
	req := LogBatchRequest{Params: []Param{{Key: "lr", Value: "0.1"}}, Tags: []Tag{{Key: "a", Value: "b"}}}
	for i := range 100 {
		req.Metrics = append(req.Metrics, Metric{Key: "loss", Value: float64(i) / 7, Step: int64(i), Timestamp: 1700000000000 + int64(i)})
	}
	b, _ := json.Marshal(req)
	got, ok := decodeBatchFast(b)
	if !ok {
		t.Fatal("fast path rejected encoding/json's own output")
	}
	if d := cmp.Diff(req, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
