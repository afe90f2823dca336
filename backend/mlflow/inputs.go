package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/kilnml/kiln/backend/store"
)

// hiddenTagPrefix starts the run tags this API keeps for itself; they are not shown in
// data.tags.
const hiddenTagPrefix = "kiln.mlflow/"

// inputsTag keeps a run's dataset inputs (runs/log-inputs) as JSON.
const inputsTag = hiddenTagPrefix + "inputs"

// datasetInput is MLflow's DatasetInput message.
type datasetInput struct {
	Tags    []keyValue `json:"tags,omitempty"`
	Dataset dataset    `json:"dataset"`
}

// dataset is MLflow's Dataset message.
type dataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// runInputs is MLflow's RunInputs message.
type runInputs struct {
	DatasetInputs []datasetInput `json:"dataset_inputs,omitempty"`
}

// logInputs records dataset inputs of a run. As in MLflow, a dataset (by name and digest)
// logged again is recorded once, keeping its first tags.
func (h *Handler) logInputs(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		RunID    string         `json:"run_id"`
		Datasets []datasetInput `json:"datasets"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if _, err := h.activeRun(ctx, id.namespace, req.RunID); err != nil {
		return nil, err
	}
	for i, d := range req.Datasets {
		switch {
		case d.Dataset.Name == "":
			return nil, invalidParam("datasets[%d].dataset.name is required", i)
		case d.Dataset.Digest == "":
			return nil, invalidParam("datasets[%d].dataset.digest is required", i)
		case d.Dataset.SourceType == "" || d.Dataset.Source == "":
			return nil, invalidParam("datasets[%d].dataset: source_type and source are required", i)
		}
	}
	in, err := h.inputs(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	for _, d := range req.Datasets {
		dup := false
		for _, old := range in.DatasetInputs {
			dup = dup || old.Dataset.Name == d.Dataset.Name && old.Dataset.Digest == d.Dataset.Digest
		}
		if !dup {
			in.DatasetInputs = append(in.DatasetInputs, d)
		}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode inputs of run %q: %w", req.RunID, err)
	}
	if err := h.st.LogBatch(ctx, req.RunID, nil, nil, []store.Tag{{Key: inputsTag, Value: string(b)}}); err != nil {
		return nil, fmt.Errorf("log inputs of run %q: %w", req.RunID, err)
	}
	return struct{}{}, nil
}

// inputs reads a run's dataset inputs.
func (h *Handler) inputs(ctx context.Context, runID string) (runInputs, error) {
	tags, err := h.st.ListTags(ctx, runID)
	if err != nil {
		return runInputs{}, fmt.Errorf("tags of run %q: %w", runID, err)
	}
	return inputsFromTags(tags), nil
}

func inputsFromTags(tags []store.Tag) runInputs {
	var in runInputs
	for _, t := range tags {
		if t.Key == inputsTag {
			_ = json.Unmarshal([]byte(t.Value), &in)
		}
	}
	return in
}

// validUserTag rejects tags in the namespace this API keeps for itself.
func validUserTag(key string) error {
	if strings.HasPrefix(key, hiddenTagPrefix) {
		return invalidParam("tag key '%s' is reserved: keys starting with '%s' are Kiln's", key, hiddenTagPrefix)
	}
	return nil
}
