package yamlenc

import (
	"fmt"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	yamlv3 "gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// realisticWorkflow builds a Workflow shaped like the compiler's output, with
// the awkward values real pipelines carry: template expressions, numeric and
// boolean-looking parameter strings, quantities, int-or-strings, timestamps
// and a multi-line script.
func realisticWorkflow(tasks int) *wfv1.Workflow {
	mustItem := func(s string) wfv1.Item {
		it, err := wfv1.ParseItem(s)
		if err != nil {
			panic(err)
		}
		return it
	}
	dag := make([]wfv1.DAGTask, 0, tasks)
	for i := range tasks {
		task := wfv1.DAGTask{
			Name:     fmt.Sprintf("train-%d", i),
			Template: "train",
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: "lr", Value: wfv1.AnyStringPtr("{{inputs.parameters.lr}}")},
			}},
		}
		if i > 0 {
			task.Depends = fmt.Sprintf("train-%d.Succeeded", i-1)
		}
		dag = append(dag, task)
	}
	limit := intstr.FromInt32(3)
	factor := intstr.FromString("2")
	deadline := intstr.FromString("{{workflow.parameters.deadline}}")
	ttl := int32(3600)
	return &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:      "train-pipeline-",
			Namespace:         "kiln",
			CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)),
			Labels:            map[string]string{"kiln.dev/pipeline": "train", "kiln.dev/version": "1.10"},
			Annotations:       map[string]string{"kiln.dev/description": "Trains a model.\nSecond line: with colon # and hash", "kiln.dev/cache": "true"},
		},
		Spec: wfv1.WorkflowSpec{
			Entrypoint:         "main",
			ServiceAccountName: "kiln-runner",
			Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: "lr", Value: wfv1.AnyStringPtr("0.01")},
				{Name: "epochs", Value: wfv1.AnyStringPtr("10")},
				{Name: "shuffle", Value: wfv1.AnyStringPtr("yes")},
				{Name: "note", Value: wfv1.AnyStringPtr(""), Enum: []wfv1.AnyString{"", "null", "~", "0x1F"}},
				{Name: "deadline", Value: wfv1.AnyStringPtr("600")},
			}},
			PodGC:       &wfv1.PodGC{Strategy: wfv1.PodGCOnPodSuccess},
			TTLStrategy: &wfv1.TTLStrategy{SecondsAfterCompletion: &ttl},
			Templates: []wfv1.Template{
				{Name: "main", DAG: &wfv1.DAGTemplate{Tasks: append(dag, wfv1.DAGTask{
					Name:      "fan-out",
					Template:  "echo",
					Depends:   "train-0",
					When:      "{{tasks.train-0.outputs.result}} == 'ok'",
					WithItems: []wfv1.Item{mustItem(`"a"`), mustItem(`1`), mustItem(`{"k":"on"}`), mustItem(`[true,null]`)},
				})}},
				{
					Name:   "train",
					Inputs: wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "lr"}}},
					RetryStrategy: &wfv1.RetryStrategy{
						Limit:   &limit,
						Backoff: &wfv1.Backoff{Duration: "10s", Factor: &factor, MaxDuration: "1m"},
					},
					ActiveDeadlineSeconds: &deadline,
					Container: &corev1.Container{
						Image:   "ghcr.io/kilnml/train:v1.2.3",
						Command: []string{"/kiln", "--component", "train"},
						Args:    []string{"--lr", "{{inputs.parameters.lr}}", "--seed=42", "- not a list", "#nocomment"},
						Env: []corev1.EnvVar{
							{Name: "DEBUG", Value: "false"},
							{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: "kiln"}, Key: "token"}}},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
							Limits:   corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")},
						},
					},
					Outputs: wfv1.Outputs{Artifacts: []wfv1.Artifact{{Name: "model", Path: "/tmp/model"}}},
				},
				{
					Name: "echo",
					Script: &wfv1.ScriptTemplate{
						Container: corev1.Container{Image: "python:3.12", Command: []string{"python"}},
						Source:    "import sys\nprint(\"item: {{item}}\")\n\tif True:\n  pass\n",
					},
				},
			},
		},
	}
}

var quantityEqual = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

func TestWorkflowRoundTrip(t *testing.T) {
	want := realisticWorkflow(20)
	out, err := Marshal(want)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}

	// Argo and kubectl read manifests through sigs.k8s.io/yaml.
	var got wfv1.Workflow
	if err := yaml.UnmarshalStrict(out, &got); err != nil {
		t.Fatalf("sigs.k8s.io/yaml.UnmarshalStrict: %v\nYAML:\n%s", err, out)
	}
	if diff := cmp.Diff(*want, got, quantityEqual); diff != "" {
		t.Errorf("Workflow changed in a YAML round trip (-want +got):\n%s\nYAML:\n%s", diff, out)
	}

	// Determinism and agreement with the sigs.k8s.io/yaml reading of the
	// same object, which sorts keys but must hold the same value.
	again, err := Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(out), string(again)); diff != "" {
		t.Errorf("Marshal is not deterministic (-first +second):\n%s", diff)
	}
	ref, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := yamlv3.Unmarshal(out, &a); err != nil {
		t.Fatalf("yaml.v3: %v", err)
	}
	if err := yamlv3.Unmarshal(ref, &b); err != nil {
		t.Fatalf("yaml.v3 on sigs.k8s.io/yaml output: %v", err)
	}
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("yaml.v3 reads our YAML differently from sigs.k8s.io/yaml's (-sigs +ours):\n%s", diff)
	}
}

func TestWorkflowLayout(t *testing.T) {
	out, err := Marshal(realisticWorkflow(2))
	if err != nil {
		t.Fatal(err)
	}
	want := `kind: Workflow
apiVersion: argoproj.io/v1alpha1
metadata:
  generateName: train-pipeline-
  namespace: kiln
  creationTimestamp: '2026-11-29T12:00:00Z'
  labels:
    kiln.dev/pipeline: train
    kiln.dev/version: '1.10'
  annotations:
    kiln.dev/cache: 'true'
    kiln.dev/description: |-
      Trains a model.
      Second line: with colon # and hash
spec:
  templates:
  - name: main
    inputs: {}
    outputs: {}
    metadata: {}
    dag:
      tasks:
      - name: train-0
        template: train
        arguments:
          parameters:
          - name: lr
            value: '{{inputs.parameters.lr}}'
      - name: train-1
        template: train
        arguments:
          parameters:
          - name: lr
            value: '{{inputs.parameters.lr}}'
        depends: train-0.Succeeded
      - name: fan-out
        template: echo
        arguments: {}
        withItems:
        - a
        - 1
        - k: 'on'
        - - true
          - null
        when: '{{tasks.train-0.outputs.result}} == ''ok'''
        depends: train-0
`
	if len(out) < len(want) {
		t.Fatalf("output too short:\n%s", out)
	}
	// Compare the stable head of the document; the full round trip is
	// checked by TestWorkflowRoundTrip.
	head := string(out[:len(want)])
	if diff := cmp.Diff(want, head); diff != "" {
		t.Errorf("layout mismatch (-want +got):\n%s", diff)
	}
}
