package mlflow

import "strings"

// MLflow's request limits (mlflow/utils/validation.py), enforced as MLflow's server does.
const (
	MaxMetricsPerBatch = 1000
	MaxParamsPerBatch  = 100
	MaxTagsPerBatch    = 100
	MaxItemsPerBatch   = 1000
	// MaxKeyLength bounds metric, param and tag keys.
	MaxKeyLength = 250
	// MaxParamValueLength bounds param values.
	MaxParamValueLength = 6000
	// MaxTagValueLength bounds run tag values.
	MaxTagValueLength = 8000
	// MaxExperimentTagValueLength bounds experiment tag values.
	MaxExperimentTagValueLength = 5000
	// MaxRegistryTagValueLength bounds registered-model and model-version tag values.
	MaxRegistryTagValueLength = 100000
	// MaxResultsLimit bounds max_results of runs/search and experiments/search.
	MaxResultsLimit = 50000
	// DefaultMaxResults is the max_results of a search that sets none.
	DefaultMaxResults = 1000
)

// validKey checks a metric, param or tag key as MLflow does: letters, digits, underscores,
// dashes, periods, spaces and slashes, at most MaxKeyLength, and not a path that escapes its
// directory (MLflow's file store uses keys as file names).
func validKey(kind, key string) error {
	if key == "" {
		return invalidParam("missing value for required parameter 'key' of %s", kind)
	}
	if len(key) > MaxKeyLength {
		return invalidParam("%s key '%s...' had length %d, which exceeded length limit of %d", kind, key[:20], len(key), MaxKeyLength)
	}
	for _, r := range key {
		ok := r == '_' || r == '-' || r == '.' || r == ' ' || r == '/' ||
			r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok {
			return invalidParam("invalid %s name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)", kind, key)
		}
	}
	if strings.HasPrefix(key, "/") || key == "." || key == ".." || strings.HasPrefix(key, "../") ||
		strings.HasSuffix(key, "/..") || strings.Contains(key, "/../") {
		return invalidParam("invalid %s name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such", kind, key)
	}
	return nil
}

// validValue checks a param or tag value's length.
func validValue(kind, key, value string, limit int) error {
	if len(value) > limit {
		return invalidParam("%s '%s' had length %d, which exceeded length limit of %d", kind, key, len(value), limit)
	}
	return nil
}

// validTag checks a run, experiment or registry tag.
func validTag(key, value string, limit int) error {
	if err := validKey("tag", key); err != nil {
		return err
	}
	if err := validUserTag(key); err != nil {
		return err
	}
	return validValue("tag", key, value, limit)
}

// required reports a missing required request field the way MLflow does.
func required(name string) error {
	return invalidParam("missing value for required parameter '%s'", name)
}

// maxResults applies the default and the limit to a search's max_results.
func maxResults(n int64s, limit int) (int, error) {
	switch {
	case n == 0:
		return min(DefaultMaxResults, limit), nil
	case n < 0 || int64(n) > int64(limit):
		return 0, invalidParam("invalid value %d for parameter 'max_results' supplied: it must be at most %d", n, limit)
	}
	return int(n), nil
}
