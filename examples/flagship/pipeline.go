// Command flagship is Kiln's end-to-end example: it imports the breast-cancer data set,
// profiles it, splits it (stratified, seeded), runs a hyperparameter sweep (TPE over
// logistic regression and gradient-boosted trees, one pod per trial, in parallel, two rounds
// so TPE learns from the first), evaluates the best model on the held-out test split,
// registers it, moves the "production" alias when it beats the current version, and writes
// (on a cluster, with -p deploy=true, applies) the KServe or Deployment manifests serving it.
//
//	go run ./examples/flagship run -p data=$PWD/datasets/breast-cancer/data.csv -p registry=$PWD/.kiln/registry
//	go run ./examples/flagship compile > flagship.yaml
//	go run ./cmd/kiln-serve -registry .kiln/registry -model breast-cancer@production
//
// Paths given to a local run must be absolute (components run in their own directories).
//
// On a cluster every component runs in the image ghcr.io/kilnml/flagship:latest (Dockerfile in
// this directory; no Docker here, so TestImages checks it statically), and Deploy runs
// ghcr.io/kilnml/kiln-serve:latest (cmd/kiln-serve/Dockerfile). From the repository root:
//
//	docker build -f examples/flagship/Dockerfile -t ghcr.io/kilnml/flagship:latest .
//	docker build -f cmd/kiln-serve/Dockerfile -t ghcr.io/kilnml/kiln-serve:latest .
package main

import (
	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/components/evaluate"
	"github.com/kilnml/kiln/components/ml/model"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
	"github.com/kilnml/kiln/components/preprocess"
	"github.com/kilnml/kiln/components/register"
	"github.com/kilnml/kiln/components/serve"
	"github.com/kilnml/kiln/components/sweep"
	"github.com/kilnml/kiln/dsl"
)

// Params are the flagship pipeline's inputs.
type Params struct {
	// Data is the CSV or Parquet file to learn from: an absolute path or a go-getter URL. The
	// default is where the flagship image keeps the data set.
	Data dsl.Value[string] `default:"/kiln/datasets/breast-cancer/data.csv" description:"absolute path or URL of the data set"`
	// Registry is the model registry directory (absolute); on a cluster, a mounted volume.
	Registry dsl.Value[string] `default:"/kiln/registry" description:"model registry directory (absolute path)"`
	// Target is the label column, used to stratify the split.
	Target dsl.Value[string] `default:"diagnosis" description:"label column (stratification)"`
	// ModelName is the registered model's name.
	ModelName dsl.Value[string] `kiln:"model_name" default:"breast-cancer" description:"registered model name"`
	// Deploy applies the serving manifests to the cluster (kubectl in the image).
	Deploy dsl.Value[bool] `default:"false" description:"apply the serving manifests to the cluster"`
	// Namespace is where the model is served on a cluster.
	Namespace dsl.Value[string] `default:"default" description:"namespace to serve the model in"`
	// Seed seeds the split and the sweep.
	Seed dsl.Value[int] `default:"7"`
	// Experiment is the sweep: 16 trials of TPE (8 random start-up trials, then 8 modelled on
	// them) over the model kind and both kinds' hyperparameters, 4 at a time, minimising
	// validation log loss, at most 2 failed trials.
	Experiment dsl.Value[mlsweep.Experiment] `default:"{\"space\":[{\"name\":\"kind\",\"type\":\"categorical\",\"categories\":[\"logistic_regression\",\"gbt\"]},{\"name\":\"l2\",\"type\":\"double\",\"min\":0.0001,\"max\":10,\"distribution\":\"log_uniform\"},{\"name\":\"n_estimators\",\"type\":\"int\",\"min\":20,\"max\":120},{\"name\":\"learning_rate\",\"type\":\"double\",\"min\":0.03,\"max\":0.5,\"distribution\":\"log_uniform\"},{\"name\":\"max_depth\",\"type\":\"int\",\"min\":2,\"max\":4}],\"objective\":{\"metric\":\"log_loss\",\"direction\":\"minimize\"},\"algorithm\":{\"name\":\"tpe\",\"startup_trials\":8},\"max_trials\":16,\"parallel_trials\":4,\"max_failed_trials\":2}" description:"sweep experiment (components/ml/sweep JSON)"`
	// Config is the base training configuration the trials override.
	Config dsl.Value[model.TrainConfig] `default:"{\"kind\":\"logistic_regression\",\"target\":\"diagnosis\",\"preprocess\":{\"scaling\":\"standard\"}}" description:"base training configuration (model.TrainConfig JSON)"`
}

// Pipeline is the flagship pipeline.
var Pipeline = dsl.NewPipeline("flagship", func(s dsl.Scope, in Params) {
	imp := data.Import.Task(s, data.ImportIn{Source: in.Data}, dsl.Name("import"))
	data.Profile.Task(s, data.ProfileIn{Data: imp.Out.Data}, dsl.Name("profile"))
	sp := preprocess.Split.Task(s, preprocess.SplitIn{
		Data: imp.Out.Data, Stratify: in.Target, Seed: in.Seed,
		Train: dsl.Of(0.6), Validation: dsl.Of(0.2), Test: dsl.Of(0.2),
	}, dsl.Name("split"))
	best := sweep.Tasks(s, sweep.Inputs{
		Experiment: in.Experiment, Train: sp.Out.Train, Validation: sp.Out.Validation,
		Config: in.Config, Seed: in.Seed,
	}, sweep.Options{Parallel: 4, FirstRound: 8, TrialOptions: []dsl.Option{dsl.CPU("500m", "1")}})
	ev := evaluate.Evaluate.Task(s, evaluate.In{Model: best.Out.Model, Data: sp.Out.Test, Prefix: dsl.Of("test")}, dsl.Name("evaluate"))
	reg := register.Register.Task(s, register.In{
		Model: best.Out.Model, Metrics: ev.Out.Values, Name: in.ModelName, Registry: in.Registry,
		Alias: dsl.Of("production"), Metric: dsl.Of("accuracy"), Direction: dsl.Of("maximize"),
		Metadata: best.Out.Params,
	}, dsl.Name("register"))
	// On a cluster, -p deploy=true serves the model with KServe (or a Deployment and Service);
	// otherwise this step only writes the manifests. Locally, scripts/run.sh serves it.
	serve.Deploy.Task(s, serve.DeployIn{
		Model: best.Out.Model, Name: in.ModelName, Namespace: in.Namespace, Apply: in.Deploy,
		ServerVersion: reg.Out.ServerVersion,
	}, dsl.Name("deploy"), dsl.After(reg))
}, dsl.Description("Breast-cancer classifier: import, profile, split, sweep, evaluate, register."),
	dsl.Image("ghcr.io/kilnml/flagship:latest"))
