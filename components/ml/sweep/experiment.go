package sweep

import (
	"fmt"
	"math"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Direction says whether the objective is minimised or maximised.
type Direction string

// Directions.
const (
	Minimize Direction = "minimize"
	Maximize Direction = "maximize"
)

// Objective is what an experiment optimises.
type Objective struct {
	// Metric names the trial metric to optimise.
	Metric string `json:"metric"`
	// Direction is minimize or maximize.
	Direction Direction `json:"direction"`
	// Goal, when set, ends the experiment as soon as a trial reaches it (<= for minimize,
	// >= for maximize).
	Goal *float64 `json:"goal,omitempty"`
}

// better reports whether a is strictly better than b.
func (o Objective) better(a, b float64) bool {
	if o.Direction == Maximize {
		return a > b
	}
	return a < b
}

// loss maps an objective value to a quantity to minimise.
func (o Objective) loss(v float64) float64 {
	if o.Direction == Maximize {
		return -v
	}
	return v
}

// reached reports whether v meets the goal.
func (o Objective) reached(v float64) bool {
	if o.Goal == nil {
		return false
	}
	if o.Direction == Maximize {
		return v >= *o.Goal
	}
	return v <= *o.Goal
}

// AlgorithmName names a search algorithm.
type AlgorithmName string

// Algorithms.
const (
	// Grid enumerates the cartesian product of every parameter's grid points, the first
	// parameter varying slowest.
	Grid AlgorithmName = "grid"
	// Random samples every parameter independently from its distribution.
	Random AlgorithmName = "random"
	// TPE is the tree-structured Parzen estimator.
	TPE AlgorithmName = "tpe"
)

// Algorithm selects and tunes the search algorithm. Zero settings take the defaults given.
type Algorithm struct {
	// Name is grid, random or tpe.
	Name AlgorithmName `json:"name"`
	// GridPoints is the number of grid points of a double parameter without a Step; 0 means 5.
	GridPoints int `json:"grid_points,omitempty"`
	// StartupTrials is how many completed trials TPE needs before modelling (random before);
	// 0 means 10.
	StartupTrials int `json:"startup_trials,omitempty"`
	// Gamma is the fraction of completed trials TPE treats as good; 0 means 0.25.
	Gamma float64 `json:"gamma,omitempty"`
	// Candidates is the number of samples from l(x) TPE scores per parameter; 0 means 24.
	Candidates int `json:"candidates,omitempty"`
}

func (a Algorithm) withDefaults() Algorithm {
	if a.GridPoints == 0 {
		a.GridPoints = 5
	}
	if a.StartupTrials == 0 {
		a.StartupTrials = 10
	}
	if a.Gamma == 0 {
		a.Gamma = 0.25
	}
	if a.Candidates == 0 {
		a.Candidates = 24
	}
	return a
}

// MedianStop is the median stopping rule (Golovin et al., "Google Vizier", KDD 2017), as in
// Katib: a running trial is stopped at step s if its best value so far is worse than the
// median, over completed trials that reached step s, of their running averages up to s.
type MedianStop struct {
	// MinTrials is the number of completed trials needed before the rule applies; 0 means 3.
	MinTrials int `json:"min_trials,omitempty"`
	// StartStep is the first step (1-based count of reports) at which a trial may be stopped;
	// 0 means 1.
	StartStep int `json:"start_step,omitempty"`
	// ReportEvery is the number of training iterations (boosting rounds) between two
	// intermediate reports of a trial in the pipeline form of a sweep (components/sweep);
	// 0 means 10.
	ReportEvery int `json:"report_every,omitempty"`
}

// Experiment is a complete hyperparameter search.
type Experiment struct {
	// Space is the search space.
	Space Space `json:"space"`
	// Objective is the metric to optimise.
	Objective Objective `json:"objective"`
	// Algorithm is the search algorithm.
	Algorithm Algorithm `json:"algorithm"`
	// MaxTrials bounds the number of trials, required.
	MaxTrials int `json:"max_trials"`
	// ParallelTrials is how many trials run at once; 0 means 1.
	ParallelTrials int `json:"parallel_trials,omitempty"`
	// MaxFailedTrials ends the experiment as failed once more trials than this have failed;
	// 0 means no trial may fail, and a negative value means no limit.
	MaxFailedTrials int `json:"max_failed_trials,omitempty"`
	// EarlyStopping, when set, applies the median stopping rule to intermediate reports.
	EarlyStopping *MedianStop `json:"early_stopping,omitempty"`
}

// Validate checks e and returns every problem with its JSON field path.
func (e *Experiment) Validate() field.ErrorList {
	errs := e.Space.Validate(field.NewPath("space"))
	op := field.NewPath("objective")
	if e.Objective.Metric == "" {
		errs = append(errs, field.Required(op.Child("metric"), ""))
	}
	if e.Objective.Direction != Minimize && e.Objective.Direction != Maximize {
		errs = append(errs, field.NotSupported(op.Child("direction"), string(e.Objective.Direction), []string{string(Minimize), string(Maximize)}))
	}
	if g := e.Objective.Goal; g != nil && (math.IsNaN(*g) || math.IsInf(*g, 0)) {
		errs = append(errs, field.Invalid(op.Child("goal"), *g, "must be finite"))
	}
	ap := field.NewPath("algorithm")
	if !slices.Contains([]AlgorithmName{Grid, Random, TPE}, e.Algorithm.Name) {
		errs = append(errs, field.NotSupported(ap.Child("name"), string(e.Algorithm.Name), []string{string(Grid), string(Random), string(TPE)}))
	}
	if e.Algorithm.GridPoints < 0 {
		errs = append(errs, field.Invalid(ap.Child("grid_points"), e.Algorithm.GridPoints, "must be >= 0"))
	}
	if e.Algorithm.StartupTrials < 0 {
		errs = append(errs, field.Invalid(ap.Child("startup_trials"), e.Algorithm.StartupTrials, "must be >= 0"))
	}
	if g := e.Algorithm.Gamma; g < 0 || g >= 1 || math.IsNaN(g) {
		errs = append(errs, field.Invalid(ap.Child("gamma"), g, "must be in [0, 1)"))
	}
	if e.Algorithm.Candidates < 0 {
		errs = append(errs, field.Invalid(ap.Child("candidates"), e.Algorithm.Candidates, "must be >= 0"))
	}
	if e.Algorithm.Name == Grid {
		points := e.Algorithm.withDefaults().GridPoints
		for i, p := range e.Space {
			if n := p.gridCount(points); !(n <= MaxGridPoints) {
				errs = append(errs, field.Invalid(field.NewPath("space").Index(i), p.Name, fmt.Sprintf("%.0f grid points, more than %d; set a larger step", n, MaxGridPoints)))
			}
		}
	}
	if e.MaxTrials < 1 {
		errs = append(errs, field.Invalid(field.NewPath("max_trials"), e.MaxTrials, "must be >= 1"))
	}
	if e.ParallelTrials < 0 {
		errs = append(errs, field.Invalid(field.NewPath("parallel_trials"), e.ParallelTrials, "must be >= 0"))
	}
	if es := e.EarlyStopping; es != nil {
		if es.MinTrials < 0 {
			errs = append(errs, field.Invalid(field.NewPath("early_stopping", "min_trials"), es.MinTrials, "must be >= 0"))
		}
		if es.StartStep < 0 {
			errs = append(errs, field.Invalid(field.NewPath("early_stopping", "start_step"), es.StartStep, "must be >= 0"))
		}
		if es.ReportEvery < 0 {
			errs = append(errs, field.Invalid(field.NewPath("early_stopping", "report_every"), es.ReportEvery, "must be >= 0"))
		}
	}
	return errs
}

// Status is a trial's state.
type Status string

// Trial states.
const (
	Running      Status = "running"
	Succeeded    Status = "succeeded"
	Failed       Status = "failed"
	EarlyStopped Status = "early_stopped"
)

// Trial is an assignment and what became of it.
type Trial struct {
	// Assignment is the trial's parameters.
	Assignment
	// Status is the trial's state.
	Status Status `json:"status"`
	// Metrics are the final metrics the trial reported.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Intermediate holds the objective values reported during the trial, one per step.
	Intermediate []float64 `json:"intermediate,omitempty"`
	// Error says why a failed trial failed.
	Error string `json:"error,omitempty"`
}

// Value returns the trial's objective value and whether it has one: a succeeded trial's
// metric, or an early-stopped trial's last intermediate value.
func (o Objective) Value(t Trial) (float64, bool) {
	switch t.Status {
	case Succeeded:
		v, ok := t.Metrics[o.Metric]
		return v, ok && !math.IsNaN(v)
	case EarlyStopped:
		if v, ok := t.Metrics[o.Metric]; ok && !math.IsNaN(v) {
			return v, true
		}
		if n := len(t.Intermediate); n > 0 {
			return t.Intermediate[n-1], true
		}
	}
	return 0, false
}

// Best returns the succeeded trial with the best objective value (the lowest ID among ties)
// and false if no trial succeeded.
func Best(obj Objective, trials []Trial) (Trial, bool) {
	var best Trial
	var bestV float64
	found := false
	for _, t := range trials {
		if t.Status != Succeeded {
			continue
		}
		v, ok := obj.Value(t)
		if !ok {
			continue
		}
		if !found || obj.better(v, bestV) || (v == bestV && t.ID < best.ID) {
			best, bestV, found = t, v, true
		}
	}
	return best, found
}

// Done reports whether the experiment should start no further trial given trials (which
// must include running ones), and why: "max_trials", "goal", "max_failed_trials".
func (e *Experiment) Done(trials []Trial) (bool, string) {
	failed := 0
	for _, t := range trials {
		if t.Status == Failed {
			failed++
		}
		if v, ok := e.Objective.Value(t); ok && t.Status == Succeeded && e.Objective.reached(v) {
			return true, "goal"
		}
	}
	if e.MaxFailedTrials >= 0 && failed > e.MaxFailedTrials {
		return true, "max_failed_trials"
	}
	if len(trials) >= e.MaxTrials {
		return true, "max_trials"
	}
	return false, ""
}
