package serve

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/dsl"
)

func TestManifests(t *testing.T) {
	cfg := Config{Name: "cancer", Namespace: "ml", Image: "example/kiln-serve:1", Model: []byte(`{"format":"kiln.model/v1"}`)}
	tests := []struct {
		mode  Mode
		kinds []string
		url   string
	}{
		{KServe, []string{"ConfigMap", "InferenceService"}, "http://cancer-predictor.ml.svc.cluster.local/v2/models/cancer/infer"},
		{Deployment, []string{"ConfigMap", "Deployment", "Service"}, "http://cancer.ml.svc.cluster.local/v2/models/cancer/infer"},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			c := cfg
			c.Mode = tc.mode
			objs, err := Manifests(c)
			if err != nil {
				t.Fatal(err)
			}
			y, err := YAML(objs)
			if err != nil {
				t.Fatal(err)
			}
			docs := bytes.Split(y, []byte("---\n"))
			if len(docs) != len(tc.kinds) {
				t.Fatalf("%d documents, want %d:\n%s", len(docs), len(tc.kinds), y)
			}
			for i, d := range docs {
				var tm struct{ Kind string }
				if err := yaml.Unmarshal(d, &tm); err != nil || tm.Kind != tc.kinds[i] {
					t.Errorf("document %d kind %q (%v), want %s", i, tm.Kind, err, tc.kinds[i])
				}
			}
			var cm corev1.ConfigMap
			if err := yaml.UnmarshalStrict(docs[0], &cm); err != nil || cm.Data["model.json"] != string(cfg.Model) || cm.Namespace != "ml" {
				t.Errorf("configmap %+v, %v", cm, err)
			}
			if tc.mode == Deployment {
				var dep appsv1.Deployment
				if err := yaml.UnmarshalStrict(docs[1], &dep); err != nil {
					t.Fatal(err)
				}
				ctr := dep.Spec.Template.Spec.Containers[0]
				if got := strings.Join(ctr.Command, " "); got != "/kiln/kiln-serve -addr 0.0.0.0:8080 -model cancer=/kiln/model/model.json" {
					t.Errorf("command %q", got)
				}
				if dep.Spec.Template.Spec.Volumes[0].ConfigMap.Name != "cancer-model" || ctr.VolumeMounts[0].MountPath != "/kiln/model" {
					t.Errorf("model volume %+v mounted at %+v", dep.Spec.Template.Spec.Volumes, ctr.VolumeMounts)
				}
			}
			if got := URL(c); got != tc.url {
				t.Errorf("url %q, want %q", got, tc.url)
			}
		})
	}
	for _, bad := range []Config{
		{Name: "Bad_Name", Image: "i", Mode: KServe},
		{Name: "ok", Mode: KServe},
		{Name: "ok", Image: "i", Mode: "lambda"},
		{Name: "ok", Image: "i", Mode: KServe, Model: make([]byte, 1<<20)},
	} {
		if _, err := Manifests(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestDeployWritesManifests(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(p, []byte(`{"format":"kiln.model/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := deploy(context.Background(), DeployIn{Model: dsl.Of(dsl.Model{Path: p}), Name: dsl.Of("cancer"), Namespace: dsl.Of("ml"),
		Image: dsl.Of("example/kiln-serve:1"), Mode: dsl.Of("auto"), Apply: dsl.Of(false)})
	if err != nil {
		t.Fatal(err)
	}
	// Without applying, auto cannot ask the cluster for KServe and falls back to a Deployment.
	if out.Mode.Get() != string(Deployment) {
		t.Errorf("mode %q", out.Mode.Get())
	}
	y, err := os.ReadFile(out.Manifests.Get().Path)
	if err != nil || !bytes.Contains(y, []byte("kind: Deployment")) {
		t.Errorf("manifests %s, %v", y, err)
	}
}

// A model given by URI is loaded by kiln-serve from there: no ConfigMap, no volume, and no
// size limit; both workloads are probed on the OIP health endpoints.
func TestManifestsModelURI(t *testing.T) {
	cfg := Config{Name: "iris", Namespace: "ml", Image: "example/kiln-serve:1", ModelURI: "s3://models/iris.json", Model: make([]byte, 2<<20)}
	for _, mode := range []Mode{KServe, Deployment} {
		cfg.Mode = mode
		objs, err := Manifests(cfg)
		if err != nil {
			t.Fatal(err)
		}
		y, err := YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"iris=s3://models/iris.json", "path: /v2/health/ready", "path: /v2/health/live"} {
			if !bytes.Contains(y, []byte(want)) {
				t.Errorf("%s: no %q in\n%s", mode, want, y)
			}
		}
		for _, unwanted := range []string{"kind: ConfigMap", "volumes:", "volumeMounts:"} {
			if bytes.Contains(y, []byte(unwanted)) {
				t.Errorf("%s: %q in\n%s", mode, unwanted, y)
			}
		}
	}
}
