// Package sweep is hyperparameter optimisation as a pipeline (the job Katib does on
// Kubeflow), built from three components and one wiring function:
//
//   - Suggest proposes trial assignments with components/ml/sweep (grid, random or TPE) given
//     the experiment and the trials so far;
//   - Trial trains one model with an assignment applied to a base model.TrainConfig and
//     scores it on validation data; a training error makes a failed trial, not a failed pod;
//   - Best picks the best succeeded trial, enforces the experiment's max_failed_trials and
//     retrains the winning configuration (deterministically, on the same data) to output the
//     best model as a typed artifact;
//   - Tasks wires them: Suggest → a dsl.ParallelFor with one Trial pod per assignment →
//     (a second, TPE-informed round) → Best. It compiles to Argo loops (withParam), so the
//     workflow's size does not grow with the number of trials.
//
// With a Kiln server (the run manager sets KILN_API_URL and KILN_RUN_ID), every trial is
// recorded as a child run of the pipeline run (tag mlflow.parentRunId) with its parameters and
// validation metrics, and Best logs the winner to the pipeline run under "sweep.best.".
//
// The median stopping rule of components/ml/sweep needs intermediate reports shared between
// running trials; trials here report final metrics only, so Experiment.EarlyStopping is not
// applied by the pipeline form of a sweep.
package sweep

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/internal/track"
	"github.com/kilnml/kiln/components/ml/model"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
	"github.com/kilnml/kiln/components/train"
	"github.com/kilnml/kiln/dsl"
)

// SuggestIn is the input of Suggest.
type SuggestIn struct {
	// Experiment is the search: space, objective, algorithm and budgets.
	Experiment dsl.Value[mlsweep.Experiment] `description:"components/ml/sweep Experiment as JSON"`
	// History lists every earlier trial of the experiment, in ID order.
	History dsl.Value[[]string] `default:"[]" description:"trials so far, in id order (Trial outputs)"`
	// Count is how many assignments to propose; 0 means all that max_trials leaves.
	Count dsl.Value[int] `default:"0" description:"assignments to propose (0: up to max_trials)"`
	// Seed makes random and TPE suggestions reproducible.
	Seed dsl.Value[int] `default:"0"`
}

// SuggestOut is the output of Suggest.
type SuggestOut struct {
	// Assignments are the proposed trials, numbered from len(History).
	Assignments dsl.Value[[]mlsweep.Assignment] `description:"proposed trial assignments"`
	// Count is len(Assignments).
	Count dsl.Value[int]
}

// Suggest proposes trial assignments (see components/ml/sweep.Suggest).
var Suggest = dsl.Func("sweep-suggest", suggest)

func suggest(ctx context.Context, in SuggestIn) (SuggestOut, error) {
	e := in.Experiment.Get()
	hist, err := DecodeTrials(in.History.Get())
	if err != nil {
		return SuggestOut{}, fmt.Errorf("suggest: history: %w", err)
	}
	n := in.Count.Get()
	if n <= 0 {
		n = e.MaxTrials
	}
	if in.Seed.Get() < 0 {
		return SuggestOut{}, fmt.Errorf("suggest: seed %d is negative", in.Seed.Get())
	}
	if done, why := e.Done(hist); done && why != "max_trials" {
		// Goal reached or too many failures: propose nothing more.
		return SuggestOut{Assignments: dsl.Of([]mlsweep.Assignment{}), Count: dsl.Of(0)}, nil
	}
	as, err := mlsweep.Suggest(&e, hist, n, uint64(in.Seed.Get()))
	if err != nil {
		return SuggestOut{}, err
	}
	if as == nil {
		as = []mlsweep.Assignment{}
	}
	return SuggestOut{Assignments: dsl.Of(as), Count: dsl.Of(len(as))}, nil
}

// TrialIn is the input of Trial.
type TrialIn struct {
	// Assignment is the trial's parameters, applied to Config with train.Apply.
	Assignment dsl.Value[mlsweep.Assignment] `description:"trial parameters"`
	// Train is the data the model is fitted on.
	Train dsl.Value[dsl.Dataset] `description:"training rows"`
	// Validation is the data the objective is measured on.
	Validation dsl.Value[dsl.Dataset] `description:"validation rows"`
	// Config is the base training configuration.
	Config dsl.Value[model.TrainConfig] `description:"base model.TrainConfig"`
	// Experiment gives the objective (metric and direction).
	Experiment dsl.Value[mlsweep.Experiment] `description:"the experiment (its objective is used)"`
}

// TrialOut is the output of Trial.
type TrialOut struct {
	// Trial is the outcome (status, metrics, error) in the form EncodeTrial gives.
	Trial dsl.Value[string] `description:"the trial's outcome (base64url JSON, see EncodeTrial)"`
	// Score is the objective value (NaN-free: 0 when the trial failed).
	Score dsl.Value[float64] `description:"objective value, 0 for a failed trial"`
}

// Trial trains and scores one assignment; it runs as one pod per trial.
var Trial = dsl.Func("sweep-trial", trial, dsl.Retries(1))

func trial(ctx context.Context, in TrialIn) (TrialOut, error) {
	obj := in.Experiment.Get().Objective
	tr, err := RunTrial(ctx, in.Assignment.Get(), in.Train.Get(), in.Validation.Get(), in.Config.Get(), obj)
	if err != nil {
		return TrialOut{}, err
	}
	logChild(ctx, tr)
	score, _ := obj.Value(tr)
	enc, err := EncodeTrial(tr)
	if err != nil {
		return TrialOut{}, err
	}
	return TrialOut{Trial: dsl.Of(enc), Score: dsl.Of(score)}, nil
}

// logChild records the trial as a child run of the pipeline run when tracking is configured.
func logChild(ctx context.Context, tr mlsweep.Trial) {
	log := track.Logger()
	c, err := track.StartChild(ctx, tr.Name(), map[string]string{"kiln.sweep.trial": strconv.Itoa(tr.ID), "kiln.sweep.status": string(tr.Status)})
	if err != nil {
		log.Warn("tracking: trial child run", "trial", tr.Name(), "err", err)
		return
	}
	if c == nil {
		return
	}
	if err := c.LogParams(ctx, tr.Strings()); err != nil {
		log.Warn("tracking: trial params", "trial", tr.Name(), "err", err)
	}
	if len(tr.Metrics) > 0 {
		if err := c.LogMetrics(ctx, tr.Metrics, 0); err != nil {
			log.Warn("tracking: trial metrics", "trial", tr.Name(), "err", err)
		}
	}
	if tr.Error != "" {
		if err := c.SetTag(ctx, "kiln.sweep.error", tr.Error); err != nil {
			log.Warn("tracking: trial error tag", "trial", tr.Name(), "err", err)
		}
	}
	if err := c.End(ctx, tr.Status == mlsweep.Failed); err != nil {
		log.Warn("tracking: end trial child run", "trial", tr.Name(), "err", err)
	}
}

// RunTrial trains a model with a applied to base and scores it on validation. Errors of the
// trial itself (bad parameters, a failed fit) give a Failed trial; errors reading the data are
// returned, since a retry may cure them.
func RunTrial(ctx context.Context, a mlsweep.Assignment, trainData, validation dsl.Dataset, base model.TrainConfig, obj mlsweep.Objective) (mlsweep.Trial, error) {
	tr := mlsweep.Trial{Assignment: a, Status: mlsweep.Failed}
	cfg, err := train.Apply(base, a.Strings())
	if err != nil {
		tr.Error = err.Error()
		return tr, nil
	}
	tt, err := data.Read(ctx, trainData)
	if err != nil {
		return tr, err
	}
	vt, err := data.Read(ctx, validation)
	if err != nil {
		return tr, err
	}
	m, err := model.Train(tt, cfg)
	if err != nil {
		tr.Error = err.Error()
		return tr, nil
	}
	ev, err := model.Evaluate(m, vt)
	if err != nil {
		tr.Error = err.Error()
		return tr, nil
	}
	tr.Metrics = ev.Scalars()
	if _, ok := obj.Value(mlsweep.Trial{Status: mlsweep.Succeeded, Metrics: tr.Metrics}); !ok {
		tr.Error = fmt.Sprintf("no objective metric %q (have %v)", obj.Metric, slices.Sorted(maps.Keys(tr.Metrics)))
		return tr, nil
	}
	tr.Status = mlsweep.Succeeded
	return tr, nil
}

// BestIn is the input of Best.
type BestIn struct {
	// Experiment is the search the trials belong to.
	Experiment dsl.Value[mlsweep.Experiment]
	// Trials are the trials of the first round.
	Trials dsl.Value[[]string] `description:"trials (first round), as Trial outputs them"`
	// More are the trials of a later round, if any.
	More dsl.Value[[]string] `default:"[]" description:"trials of a later round"`
	// Train is the data the best configuration is retrained on.
	Train dsl.Value[dsl.Dataset] `description:"training rows"`
	// Config is the base training configuration the trials used.
	Config dsl.Value[model.TrainConfig]
}

// BestOut is the output of Best.
type BestOut struct {
	// Params are the best trial's parameters, as text.
	Params dsl.Value[map[string]string] `description:"the best trial's parameters"`
	// Score is the best trial's objective value.
	Score dsl.Value[float64]
	// TrialID is the best trial's number.
	TrialID dsl.Value[int] `kiln:"trial_id"`
	// Succeeded and Failed count the trials by outcome.
	Succeeded dsl.Value[int]
	Failed    dsl.Value[int]
	// Model is the best configuration retrained on Train.
	Model dsl.Value[dsl.Model] `description:"the best configuration's model"`
	// Summary is every trial and the best one, as JSON.
	Summary dsl.Value[dsl.Artifact] `description:"all trials and the best, JSON"`
}

// Summary is the JSON summary artifact of Best.
type Summary struct {
	// Objective is the optimised metric.
	Objective mlsweep.Objective `json:"objective"`
	// Best is the winning trial.
	Best mlsweep.Trial `json:"best"`
	// Trials lists every trial in ID order.
	Trials []mlsweep.Trial `json:"trials"`
}

// Best picks the best trial and retrains its configuration.
var Best = dsl.Func("sweep-best", best)

// ErrNoTrial is returned by Choose when no trial succeeded.
var ErrNoTrial = errors.New("sweep: no trial succeeded")

// Choose returns the best succeeded trial and the number of succeeded and failed trials. It
// fails when more trials failed than e.MaxFailedTrials allows (a negative limit means none)
// or when none succeeded.
func Choose(e mlsweep.Experiment, trials []mlsweep.Trial) (best mlsweep.Trial, succeeded, failed int, err error) {
	for _, t := range trials {
		switch t.Status {
		case mlsweep.Succeeded:
			succeeded++
		case mlsweep.Failed:
			failed++
		}
	}
	if e.MaxFailedTrials >= 0 && failed > e.MaxFailedTrials {
		first := ""
		for _, t := range trials {
			if t.Status == mlsweep.Failed {
				first = fmt.Sprintf(" (%s: %s)", t.Name(), t.Error)
				break
			}
		}
		return mlsweep.Trial{}, succeeded, failed, fmt.Errorf("%w: %d of %d failed, max_failed_trials is %d%s", mlsweep.ErrTooManyFailures, failed, len(trials), e.MaxFailedTrials, first)
	}
	b, ok := mlsweep.Best(e.Objective, trials)
	if !ok {
		return mlsweep.Trial{}, succeeded, failed, ErrNoTrial
	}
	return b, succeeded, failed, nil
}

func best(ctx context.Context, in BestIn) (BestOut, error) {
	trials, err := DecodeTrials(append(slices.Clone(in.Trials.Get()), in.More.Get()...))
	if err != nil {
		return BestOut{}, fmt.Errorf("best: %w", err)
	}
	b, succeeded, failed, err := Choose(in.Experiment.Get(), trials)
	if err != nil {
		return BestOut{}, err
	}
	params := b.Strings()
	cfg, err := train.Apply(in.Config.Get(), params)
	if err != nil {
		return BestOut{}, fmt.Errorf("best: %w", err)
	}
	t, err := data.Read(ctx, in.Train.Get())
	if err != nil {
		return BestOut{}, err
	}
	m, err := model.Train(t, cfg)
	if err != nil {
		return BestOut{}, fmt.Errorf("best: retrain %s: %w", b.Name(), err)
	}
	m.Metadata["sweep_trial"] = b.Name()
	path, err := train.Save(ctx, m)
	if err != nil {
		return BestOut{}, err
	}
	score, _ := in.Experiment.Get().Objective.Value(b)
	track.Metrics(ctx, track.Logger(), "sweep.best", map[string]float64{in.Experiment.Get().Objective.Metric: score,
		"trials_succeeded": float64(succeeded), "trials_failed": float64(failed)}, params)
	sum, err := data.WriteJSON("kiln-sweep-", "summary.json", Summary{Objective: in.Experiment.Get().Objective, Best: b, Trials: trials})
	if err != nil {
		return BestOut{}, fmt.Errorf("best: %w", err)
	}
	return BestOut{
		Params: dsl.Of(params), Score: dsl.Of(score), TrialID: dsl.Of(b.ID),
		Succeeded: dsl.Of(succeeded), Failed: dsl.Of(failed),
		Model:   dsl.Of(dsl.Model{Path: path, Metadata: map[string]any{"trial": b.Name(), "kind": string(m.Kind)}}),
		Summary: dsl.Of(dsl.Artifact{Path: sum}),
	}, nil
}

// Inputs are what Tasks needs.
type Inputs struct {
	Experiment dsl.Value[mlsweep.Experiment]
	Train      dsl.Value[dsl.Dataset]
	Validation dsl.Value[dsl.Dataset]
	Config     dsl.Value[model.TrainConfig]
	Seed       dsl.Value[int]
}

// Options shape the tasks Tasks adds.
type Options struct {
	// Parallel bounds how many trial pods run at once; 0 means no bound.
	Parallel int
	// FirstRound, when positive, splits the sweep in two rounds: the first runs FirstRound
	// trials, the second the rest of max_trials with the first round's results as history
	// (so TPE models them). Zero runs a single round.
	FirstRound int
	// TrialOptions are applied to every trial task (resources, retries…).
	TrialOptions []dsl.Option
}

// Tasks adds a complete sweep to s and returns the Best task: Suggest, a parallel loop of
// Trial pods, optionally a second Suggest and loop informed by the first round, then Best.
func Tasks(s dsl.Scope, in Inputs, opts Options) *dsl.Task[BestOut] {
	var loopOpts []dsl.LoopOption
	if opts.Parallel > 0 {
		loopOpts = append(loopOpts, dsl.Parallelism(opts.Parallel))
	}
	round := func(name string, sug *dsl.Task[SuggestOut]) dsl.Value[[]string] {
		var t dsl.Value[string]
		loop := dsl.ParallelFor(s, dsl.Over(sug.Out.Assignments), func(s dsl.Scope, a dsl.Value[mlsweep.Assignment]) {
			topts := append([]dsl.Option{dsl.Name(name)}, opts.TrialOptions...)
			t = Trial.Task(s, TrialIn{Assignment: a, Train: in.Train, Validation: in.Validation, Config: in.Config, Experiment: in.Experiment}, topts...).Out.Trial
		}, loopOpts...)
		return dsl.Collect(loop, t)
	}
	if opts.FirstRound <= 0 {
		sug := Suggest.Task(s, SuggestIn{Experiment: in.Experiment, Seed: in.Seed}, dsl.Name("suggest"))
		trials := round("trial", sug)
		return Best.Task(s, BestIn{Experiment: in.Experiment, Trials: trials, Train: in.Train, Config: in.Config}, dsl.Name("best"))
	}
	s1 := Suggest.Task(s, SuggestIn{Experiment: in.Experiment, Seed: in.Seed, Count: dsl.Of(opts.FirstRound)}, dsl.Name("suggest"))
	first := round("trial", s1)
	s2 := Suggest.Task(s, SuggestIn{Experiment: in.Experiment, Seed: in.Seed, History: first}, dsl.Name("suggest-2"))
	second := round("trial-2", s2)
	return Best.Task(s, BestIn{Experiment: in.Experiment, Trials: first, More: second, Train: in.Train, Config: in.Config}, dsl.Name("best"))
}

// EncodeTrial encodes a trial for the Trial output: base64url of its JSON. The text form keeps
// the record opaque to the engines' parameter aggregation, which re-escapes JSON objects
// collected from a loop.
func EncodeTrial(t mlsweep.Trial) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", t.Name(), err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeTrials decodes trials encoded by EncodeTrial.
func DecodeTrials(enc []string) ([]mlsweep.Trial, error) {
	out := make([]mlsweep.Trial, len(enc))
	for i, e := range enc {
		b, err := base64.RawURLEncoding.DecodeString(e)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i, err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			return nil, fmt.Errorf("trial %d: %w", i, err)
		}
	}
	return out, nil
}
