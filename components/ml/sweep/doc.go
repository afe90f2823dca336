// Package sweep is Kiln's hyperparameter optimisation: the job Katib does, shaped so that a
// pipeline can run it as a loop with one pod per trial.
//
// An [Experiment] holds a search [Space] (double, int, discrete and categorical parameters,
// uniform or log-uniform), an [Objective] (metric, minimize or maximize, optional goal), an
// [Algorithm] (grid, random or TPE), trial budgets (max trials, parallel trials, max failed
// trials) and optional median early stopping. Everything is plain JSON.
//
// Two ways to run it:
//
//   - As pipeline steps. [Suggest] takes the experiment and the trials so far and proposes
//     the next n [Assignment]s, deterministically for a given seed; a step writes them as a
//     JSON list output, a parallel loop runs one trial per assignment and each trial writes a
//     [Trial] (its metrics) as JSON; a fan-in step calls [Best]. Repeating suggest → loop →
//     collect lets model-based algorithms learn between rounds.
//   - In process. [Run] drives the same Suggest with ParallelTrials goroutines, applying
//     the goal, the failure budget and median stopping as trials report. It serves tests
//     and local use.
//
// The TPE implementation follows Bergstra et al., "Algorithms for Hyper-Parameter
// Optimization" (NeurIPS 2011): trials are split into the best γ fraction and the rest, a
// Parzen estimator of each parameter is fitted to each group, and the candidate that
// maximises l(x)/g(x) among samples from l is chosen, parameter by parameter.
package sweep
