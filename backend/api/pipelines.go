package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/engine"
)

func (h *Handler) registerPipelineRoutes() {
	h.handle("POST /api/v1/pipelines", h.createPipeline)
	h.handle("GET /api/v1/pipelines", h.listPipelines)
	h.handle("GET /api/v1/pipelines/{id}", h.getPipeline)
	h.handle("DELETE /api/v1/pipelines/{id}", h.deletePipeline)
	h.handle("POST /api/v1/pipelines/{id}/versions", h.createPipelineVersion)
	h.handle("GET /api/v1/pipelines/{id}/versions", h.listPipelineVersions)
	h.handle("GET /api/v1/pipeline-versions/{id}", h.getPipelineVersion)
	h.handle("DELETE /api/v1/pipeline-versions/{id}", h.deletePipelineVersion)
}

// readPipelineRequest accepts JSON (CreatePipelineRequest) or multipart/form-data with the
// spec as a file part named "spec" and the other fields as form fields.
func readPipelineRequest(r *http.Request) (*CreatePipelineRequest, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		var req CreatePipelineRequest
		if err := decodeJSON(r, &req); err != nil {
			return nil, err
		}
		return &req, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalid("body", "malformed multipart body: %v", err)
	}
	var req CreatePipelineRequest
	fields := map[string]*string{"name": &req.Name, "description": &req.Description, "versionName": &req.VersionName,
		"versionDescription": &req.VersionDescription, "spec": &req.Spec}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, invalid("body", "malformed multipart body: %v", err)
		}
		dst, ok := fields[part.FormName()]
		if !ok {
			return nil, invalid(part.FormName(), "unknown field")
		}
		b, err := io.ReadAll(part)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, invalid(part.FormName(), "read: %v", err)
		}
		*dst = string(b)
	}
	return &req, nil
}

// ValidateSpec parses a compiled pipeline (Workflow, WorkflowTemplate or CronWorkflow YAML or
// JSON) and checks it with Kiln's structural checks and Argo's own validation. Problems are
// reported with field paths under p ("spec.templates[0].name").
func ValidateSpec(p *field.Path, spec []byte) (*wfv1.Workflow, field.ErrorList) {
	if len(strings.TrimSpace(string(spec))) == 0 {
		return nil, field.ErrorList{field.Required(p, "the compiled pipeline YAML")}
	}
	wf, err := engine.ParseWorkflow(spec)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(p, "", err.Error())}
	}
	var errs field.ErrorList
	sp := p.Child("spec")
	if len(wf.Spec.Templates) == 0 {
		errs = append(errs, field.Required(sp.Child("templates"), "at least one template"))
	}
	names := map[string]bool{}
	for i, t := range wf.Spec.Templates {
		tp := sp.Child("templates").Index(i).Child("name")
		switch {
		case t.Name == "":
			errs = append(errs, field.Required(tp, ""))
		case names[t.Name]:
			errs = append(errs, field.Duplicate(tp, t.Name))
		}
		names[t.Name] = true
	}
	if wf.Spec.Entrypoint == "" {
		errs = append(errs, field.Required(sp.Child("entrypoint"), ""))
	} else if len(wf.Spec.Templates) > 0 && !names[wf.Spec.Entrypoint] {
		errs = append(errs, field.NotFound(sp.Child("entrypoint"), wf.Spec.Entrypoint))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := argoValidate(wf); err != nil {
		return nil, field.ErrorList{argoFieldError(p, wf, err)}
	}
	return wf, nil
}

func argoValidate(wf *wfv1.Workflow) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("argo validation failed: %v", r)
		}
	}()
	return validate.ValidateWorkflow(nil, nil, wf.DeepCopy(), nil, validate.ValidateOpts{})
}

var argoTemplatePath = regexp.MustCompile(`^templates\.([^ .]+)(\S*)`)

// argoFieldError turns Argo's "templates.<name>.steps..." message into a field path.
func argoFieldError(p *field.Path, wf *wfv1.Workflow, err error) *field.Error {
	msg := err.Error()
	path := p.Child("spec")
	if m := argoTemplatePath.FindStringSubmatch(msg); m != nil {
		for i, t := range wf.Spec.Templates {
			if t.Name == m[1] {
				path = path.Child("templates").Index(i)
				break
			}
		}
	}
	return field.Invalid(path, "", msg)
}

func (h *Handler) createPipeline(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	req, err := readPipelineRequest(r)
	if err != nil {
		return err
	}
	var errs field.ErrorList
	if req.Name == "" {
		errs = append(errs, field.Required(field.NewPath("name"), ""))
	}
	wf, serrs := ValidateSpec(field.NewPath("spec"), []byte(req.Spec))
	if errs = append(errs, serrs...); len(errs) > 0 {
		return fromFieldErrors("invalid pipeline", errs)
	}
	p := &store.Pipeline{Namespace: ns, Name: req.Name, Description: req.Description}
	if err := h.st.CreatePipeline(r.Context(), p); err != nil {
		return fmt.Errorf("create pipeline %q: %w", req.Name, err)
	}
	v, err := h.storeVersion(r, p, req, wf)
	if err != nil {
		_ = h.st.DeletePipeline(r.Context(), ns, p.ID)
		return err
	}
	writeJSON(w, http.StatusCreated, CreatePipelineResponse{Pipeline: pipelineOut(p), Version: versionOut(v, false)})
	return nil
}

func (h *Handler) storeVersion(r *http.Request, p *store.Pipeline, req *CreatePipelineRequest, wf *wfv1.Workflow) (*store.PipelineVersion, error) {
	name := req.VersionName
	if name == "" {
		name = "v1"
	}
	v := &store.PipelineVersion{Namespace: p.Namespace, PipelineID: p.ID, Name: name, Description: req.VersionDescription,
		Spec: []byte(req.Spec), ParametersSchema: runs.SchemaJSON(wf)}
	if err := h.st.CreatePipelineVersion(r.Context(), v); err != nil {
		return nil, fmt.Errorf("create version %q of pipeline %q: %w", name, p.Name, err)
	}
	return v, nil
}

func (h *Handler) createPipelineVersion(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	p, err := h.st.GetPipeline(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("pipeline %q: %w", r.PathValue("id"), err)
	}
	req, err := readPipelineRequest(r)
	if err != nil {
		return err
	}
	var errs field.ErrorList
	if req.VersionName == "" {
		errs = append(errs, field.Required(field.NewPath("versionName"), "every version after the first needs a name"))
	}
	wf, serrs := ValidateSpec(field.NewPath("spec"), []byte(req.Spec))
	if errs = append(errs, serrs...); len(errs) > 0 {
		return fromFieldErrors("invalid pipeline version", errs)
	}
	v, err := h.storeVersion(r, p, req, wf)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, versionOut(v, false))
	return nil
}

func (h *Handler) listPipelines(w http.ResponseWriter, r *http.Request) error {
	_, opts, err := h.listRequest(r)
	if err != nil {
		return err
	}
	ps, next, err := h.st.ListPipelines(r.Context(), opts)
	if err != nil {
		return fmt.Errorf("list pipelines: %w", err)
	}
	out := ListPipelinesResponse{Pipelines: convert(ps, pipelineOut), NextPageToken: next}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getPipeline(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	p, err := h.st.GetPipeline(r.Context(), ns, id)
	if errors.Is(err, store.ErrNotFound) {
		p, err = h.st.GetPipelineByName(r.Context(), ns, id)
	}
	if err != nil {
		return fmt.Errorf("pipeline %q: %w", id, err)
	}
	writeJSON(w, http.StatusOK, pipelineOut(p))
	return nil
}

func (h *Handler) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	if err := h.st.DeletePipeline(r.Context(), ns, r.PathValue("id")); err != nil {
		return fmt.Errorf("delete pipeline %q: %w", r.PathValue("id"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listPipelineVersions(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	p, err := h.st.GetPipeline(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("pipeline %q: %w", r.PathValue("id"), err)
	}
	opts, err := listOptions(r, ns)
	if err != nil {
		return err
	}
	vs, next, err := h.st.ListPipelineVersions(r.Context(), p.ID, opts)
	if err != nil {
		return fmt.Errorf("list versions of pipeline %q: %w", p.ID, err)
	}
	out := ListPipelineVersionsResponse{Versions: []PipelineVersion{}, NextPageToken: next}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionOut(v, false))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getPipelineVersion(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	v, err := h.st.GetPipelineVersion(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("pipeline version %q: %w", r.PathValue("id"), err)
	}
	writeJSON(w, http.StatusOK, versionOut(v, true))
	return nil
}

func (h *Handler) deletePipelineVersion(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	if err := h.st.DeletePipelineVersion(r.Context(), ns, r.PathValue("id")); err != nil {
		return fmt.Errorf("delete pipeline version %q: %w", r.PathValue("id"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
