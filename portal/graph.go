package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"

	"github.com/kilnml/kiln/engine"
)

// GraphPath is the portal's one computing endpoint: POST a compiled pipeline (the spec text the
// page already read from GET /api/v1/pipeline-versions/{id}) and get its task graph as JSON. It
// is a pure function of the request body and reads no stored data, so the pages still see only
// what the API shows; it exists because parsing Argo YAML (and its depends expressions) in the
// browser would need a YAML library and a copy of Argo's dependency rules.
const GraphPath = "/portal/graph"

// maxSpecBytes bounds GraphPath request bodies; Argo objects stay under ~1 MB.
const maxSpecBytes = 8 << 20

// SpecGraph is the task structure of a compiled pipeline.
type SpecGraph struct {
	Entrypoint string          `json:"entrypoint"`
	Templates  []TemplateGraph `json:"templates"`
}

// TemplateGraph is one template: a DAG or steps template lists its tasks; others are leaves.
type TemplateGraph struct {
	Name string `json:"name"`
	// Kind is dag, steps, container, script, resource, suspend, http, plugin or containerSet.
	Kind  string     `json:"kind"`
	Tasks []TaskNode `json:"tasks,omitempty"`
}

// TaskNode is a task of a DAG (or a step of a steps template) with the tasks it waits for.
type TaskNode struct {
	Name     string   `json:"name"`
	Template string   `json:"template,omitempty"`
	Depends  []string `json:"depends,omitempty"`
	When     string   `json:"when,omitempty"`
	// Loop is set when the task fans out (withItems, withParam or withSequence).
	Loop bool `json:"loop,omitempty"`
}

// Graph returns the task graph of a compiled pipeline (Workflow, WorkflowTemplate or
// CronWorkflow, YAML or JSON), with dependencies expanded by Argo's own rules.
func Graph(spec []byte) (*SpecGraph, error) {
	wf, err := engine.ParseWorkflow(spec)
	if err != nil {
		return nil, fmt.Errorf("portal: graph: %w", err)
	}
	g := &SpecGraph{Entrypoint: wf.Spec.Entrypoint, Templates: []TemplateGraph{}}
	for i := range wf.Spec.Templates {
		t := &wf.Spec.Templates[i]
		tg := TemplateGraph{Name: t.Name, Kind: string(t.GetType())}
		switch {
		case t.DAG != nil:
			tg.Kind = "dag"
			tg.Tasks = dagTasks(t.DAG)
		case t.Steps != nil:
			tg.Kind = "steps"
			var prev []string
			for _, group := range t.Steps {
				var names []string
				for _, s := range group.Steps {
					tg.Tasks = append(tg.Tasks, TaskNode{Name: s.Name, Template: s.Template, Depends: prev, When: s.When,
						Loop: len(s.WithItems) > 0 || s.WithParam != "" || s.WithSequence != nil})
					names = append(names, s.Name)
				}
				prev = names
			}
		}
		g.Templates = append(g.Templates, tg)
	}
	return g, nil
}

// dagContext lets Argo's common.GetTaskDependencies expand "dependencies" and "depends".
type dagContext map[string]*wfv1.DAGTask

func (d dagContext) GetTask(name string) *wfv1.DAGTask { return d[name] }

func (d dagContext) GetTaskDependencies(name string) []string {
	deps, _ := common.GetTaskDependencies(d[name], d)
	out := make([]string, 0, len(deps))
	for n := range deps {
		out = append(out, n)
	}
	return out
}

func (d dagContext) GetTaskFinishedAtTime(string) time.Time { return time.Time{} }

func dagTasks(dag *wfv1.DAGTemplate) []TaskNode {
	ctx := dagContext{}
	for i := range dag.Tasks {
		ctx[dag.Tasks[i].Name] = &dag.Tasks[i]
	}
	out := make([]TaskNode, 0, len(dag.Tasks))
	for _, t := range dag.Tasks {
		deps, _ := common.GetTaskDependencies(&t, ctx)
		names := make([]string, 0, len(deps))
		for n := range deps {
			if _, ok := ctx[n]; ok {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		out = append(out, TaskNode{Name: t.Name, Template: t.Template, Depends: names, When: t.When,
			Loop: len(t.WithItems) > 0 || t.WithParam != "" || t.WithSequence != nil})
	}
	return out
}

// serveGraph answers POST GraphPath.
func (h *handler) serveGraph(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSpecBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeGraphError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("spec larger than %d bytes", maxSpecBytes))
		return
	case err != nil:
		writeGraphError(w, http.StatusBadRequest, "read spec: "+err.Error())
		return
	}
	g, err := Graph(body)
	if err != nil {
		writeGraphError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(g); err != nil {
		h.log.DebugContext(r.Context(), "portal: write graph", "err", err)
	}
}

func writeGraphError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]map[string]string{"error": {"code": http.StatusText(status), "message": msg}})
}
