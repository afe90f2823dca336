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
// Early stopping (Katib's median stopping rule, Experiment.EarlyStopping). Under a Kiln
// server, a trial of an iterative model (gbt: one iteration per boosting round) scores the
// partial model on the validation data every MedianStop.ReportEvery iterations (default 10)
// and logs the objective to its child run as metric history, the iteration being the step.
// Before each report it applies the median rule against its completed siblings — the other
// child runs of the pipeline run tagged succeeded or early_stopped, read with one list call
// (run data included) that is reused for a second, and their metric history, fetched once
// per sibling and cached (see APISiblings). A stopped trial ends with the partial model's
// metrics, status EarlyStopped (tag kiln.sweep.status=early_stopped on a FINISHED child
// run), and its pod succeeds; Best counts it as neither failed nor a candidate. Every trial
// records the iterations it trained as metric "iterations". Linear kinds are fitted in one
// optimiser run and make no intermediate reports. Without a server (no KILN_API_URL) no
// sibling can be seen, so early stopping is off and the trial's log says so.
package sweep

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"

	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/internal/track"
	"github.com/kilnml/kiln/components/ml/model"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
	"github.com/kilnml/kiln/components/train"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/tracking"
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
	e := in.Experiment.Get()
	a := in.Assignment.Get()
	log := track.Logger()
	child, err := track.StartChild(ctx, a.Name(), map[string]string{TagTrial: strconv.Itoa(a.ID), TagStatus: string(mlsweep.Running)})
	if err != nil {
		log.Warn("tracking: trial child run", "trial", a.Name(), "err", err)
	}
	rep := reporting(ctx, log, e, a, child)
	tr, err := RunTrialReporting(ctx, a, in.Train.Get(), in.Validation.Get(), in.Config.Get(), e.Objective, rep)
	if err != nil {
		endChild(ctx, log, child, mlsweep.Trial{Assignment: a, Status: mlsweep.Failed, Error: err.Error()})
		return TrialOut{}, err
	}
	endChild(ctx, log, child, tr)
	score, _ := e.Objective.Value(tr)
	enc, err := EncodeTrial(tr)
	if err != nil {
		return TrialOut{}, err
	}
	return TrialOut{Trial: dsl.Of(enc), Score: dsl.Of(score)}, nil
}

// reporting sets up a trial's intermediate reports: each is logged to the child run as the
// objective metric with the iteration as step and, when the experiment asks for early
// stopping, checked against the median rule first. Without a child run (no Kiln server)
// there is nothing to compare with, so early stopping is off and the log says so.
func reporting(ctx context.Context, log *slog.Logger, e mlsweep.Experiment, a mlsweep.Assignment, child *track.Child) Reporting {
	every := DefaultReportEvery
	if e.EarlyStopping != nil && e.EarlyStopping.ReportEvery > 0 {
		every = e.EarlyStopping.ReportEvery
	}
	if child == nil {
		if e.EarlyStopping != nil {
			log.Info("sweep: early stopping is off: no Kiln server to share intermediate results with (KILN_API_URL and KILN_RUN_ID are unset)", "trial", a.Name())
		}
		return Reporting{}
	}
	if err := child.SetTag(ctx, TagReportEvery, strconv.Itoa(every)); err != nil {
		log.Warn("tracking: trial tag", "trial", a.Name(), "err", err)
	}
	var stop *Stopper
	if e.EarlyStopping != nil {
		stop = &Stopper{Rule: *e.EarlyStopping, Objective: e.Objective, Log: log, Siblings: &APISiblings{
			Client: client.New(os.Getenv(tracking.EnvAPIURL), client.Options{Token: os.Getenv(tracking.EnvToken), Namespace: os.Getenv(tracking.EnvNamespace)}),
			Parent: os.Getenv(tracking.EnvRunID), Self: child.ID(), Metric: e.Objective.Metric, Every: every,
		}}
	}
	return Reporting{Every: every, Report: func(iteration int, v float64) bool {
		stopped := stop != nil && stop.Check(ctx, v)
		if err := child.LogMetric(ctx, e.Objective.Metric, v, int64(iteration)); err != nil {
			log.Warn("tracking: trial intermediate metric", "trial", a.Name(), "err", err)
		}
		if stopped {
			log.Info("sweep: trial early stopped by the median rule", "trial", a.Name(), "iteration", iteration, e.Objective.Metric, v)
		}
		return stopped
	}}
}

// endChild records a trial's outcome on its child run: parameters, final metrics (at the
// step of the last iteration), its status tag and, for a failed trial, the error. An early
// stopped trial's run ends FINISHED: stopping is the sweep's decision, not a failure.
func endChild(ctx context.Context, log *slog.Logger, c *track.Child, tr mlsweep.Trial) {
	if c == nil {
		return
	}
	if err := c.LogParams(ctx, tr.Strings()); err != nil {
		log.Warn("tracking: trial params", "trial", tr.Name(), "err", err)
	}
	if len(tr.Metrics) > 0 {
		if err := c.LogMetrics(ctx, tr.Metrics, int64(tr.Metrics[MetricIterations])); err != nil {
			log.Warn("tracking: trial metrics", "trial", tr.Name(), "err", err)
		}
	}
	if err := c.SetTag(ctx, TagStatus, string(tr.Status)); err != nil {
		log.Warn("tracking: trial status tag", "trial", tr.Name(), "err", err)
	}
	if tr.Error != "" {
		if err := c.SetTag(ctx, TagError, tr.Error); err != nil {
			log.Warn("tracking: trial error tag", "trial", tr.Name(), "err", err)
		}
	}
	if err := c.End(ctx, tr.Status == mlsweep.Failed); err != nil {
		log.Warn("tracking: end trial child run", "trial", tr.Name(), "err", err)
	}
}

// Reporting configures a trial's intermediate reports. The zero value reports nothing.
type Reporting struct {
	// Every is the number of training iterations between reports; 0 means DefaultReportEvery.
	Every int
	// Report receives the objective value on the validation data after iteration and returns
	// whether the trial should stop there. Nil means no reports.
	Report func(iteration int, v float64) (stop bool)
}

// RunTrial trains a model with a applied to base and scores it on validation. Errors of the
// trial itself (bad parameters, a failed fit) give a Failed trial; errors reading the data are
// returned, since a retry may cure them.
func RunTrial(ctx context.Context, a mlsweep.Assignment, trainData, validation dsl.Dataset, base model.TrainConfig, obj mlsweep.Objective) (mlsweep.Trial, error) {
	return RunTrialReporting(ctx, a, trainData, validation, base, obj, Reporting{})
}

// RunTrialReporting is RunTrial with intermediate reports: every rep.Every iterations of an
// iterative model (the boosting rounds of gbt) the partial model is scored on validation, the
// value is appended to the trial's Intermediate and passed to rep.Report; when Report says
// stop, training ends there and the trial is EarlyStopped with the partial model's metrics.
// The final metrics include MetricIterations when the model counts its iterations.
func RunTrialReporting(ctx context.Context, a mlsweep.Assignment, trainData, validation dsl.Dataset, base model.TrainConfig, obj mlsweep.Objective, rep Reporting) (mlsweep.Trial, error) {
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
	var each func(int, *model.Model) bool
	stopped := false
	if rep.Report != nil {
		every := rep.Every
		if every <= 0 {
			every = DefaultReportEvery
		}
		each = func(it int, m *model.Model) bool {
			if it%every != 0 {
				return true
			}
			ev, err := model.Evaluate(m, vt)
			if err != nil {
				return true // the final evaluation reports it
			}
			v, ok := ev.Scalars()[obj.Metric]
			if !ok {
				return true
			}
			tr.Intermediate = append(tr.Intermediate, v)
			stopped = rep.Report(it, v)
			return !stopped
		}
	}
	m, err := model.TrainEach(tt, cfg, each)
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
	if it, err := strconv.Atoi(m.Metadata["iterations"]); err == nil {
		tr.Metrics[MetricIterations] = float64(it)
	}
	if _, ok := obj.Value(mlsweep.Trial{Status: mlsweep.Succeeded, Metrics: tr.Metrics}); !ok {
		tr.Error = fmt.Sprintf("no objective metric %q (have %v)", obj.Metric, slices.Sorted(maps.Keys(tr.Metrics)))
		return tr, nil
	}
	tr.Status = mlsweep.Succeeded
	if stopped {
		tr.Status = mlsweep.EarlyStopped
	}
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
	// EarlyStopped counts the trials the median rule stopped; they are neither failures nor
	// candidates for best.
	EarlyStopped dsl.Value[int] `kiln:"early_stopped"`
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
	stopped := 0
	for _, t := range trials {
		if t.Status == mlsweep.EarlyStopped {
			stopped++
		}
	}
	track.Metrics(ctx, track.Logger(), "sweep.best", map[string]float64{in.Experiment.Get().Objective.Metric: score,
		"trials_succeeded": float64(succeeded), "trials_failed": float64(failed), "trials_early_stopped": float64(stopped)}, params)
	sum, err := data.WriteJSON("kiln-sweep-", "summary.json", Summary{Objective: in.Experiment.Get().Objective, Best: b, Trials: trials})
	if err != nil {
		return BestOut{}, fmt.Errorf("best: %w", err)
	}
	return BestOut{
		Params: dsl.Of(params), Score: dsl.Of(score), TrialID: dsl.Of(b.ID),
		Succeeded: dsl.Of(succeeded), Failed: dsl.Of(failed), EarlyStopped: dsl.Of(stopped),
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
