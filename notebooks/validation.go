package notebooks

import (
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxNameLength bounds notebook names so that the derived Kubernetes names (the StatefulSet's pod
// and controller-revision-hash label, "<name>-workspace") stay within their limits.
const MaxNameLength = 52

// reservedEnv are variables Kiln sets itself; users may not override them.
var reservedEnv = map[string]bool{"NB_PREFIX": true, "JUPYTER_TOKEN": true}

// reservedEnvPrefix marks variables that belong to Kiln (see EnvAPIURL and friends).
const reservedEnvPrefix = "KILN_"

// ValidateName checks a notebook or namespace name and reports problems at fld.
func ValidateName(name string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		return append(errs, field.Required(fld, ""))
	}
	for _, msg := range validation.IsDNS1123Label(name) {
		errs = append(errs, field.Invalid(fld, name, msg))
	}
	if len(name) > MaxNameLength {
		errs = append(errs, field.TooLong(fld, name, MaxNameLength))
	}
	return errs
}

// Validate checks the notebook's identity and spec and returns every problem with its field path
// (name, namespace, spec.resources.cpu, spec.dataVolumes[1].name, …).
func (nb *Notebook) Validate() field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, ValidateName(nb.Name, field.NewPath("name"))...)
	errs = append(errs, ValidateName(nb.Namespace, field.NewPath("namespace"))...)
	errs = append(errs, nb.Spec.Validate(field.NewPath("spec"))...)
	return errs
}

// Validate checks a spec; fld is the path of the spec itself.
func (s *Spec) Validate(fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	res := fld.Child("resources")
	errs = append(errs, validateQuantity(s.Resources.CPU, res.Child("cpu"))...)
	errs = append(errs, validateQuantity(s.Resources.Memory, res.Child("memory"))...)
	if s.Resources.GPU < 0 {
		errs = append(errs, field.Invalid(res.Child("gpu"), s.Resources.GPU, "must be greater than or equal to 0"))
	}
	ws := fld.Child("workspace")
	errs = append(errs, validateQuantity(s.Workspace.Size, ws.Child("size"))...)
	if sc := s.Workspace.StorageClass; sc != "" {
		for _, msg := range validation.IsDNS1123Subdomain(sc) {
			errs = append(errs, field.Invalid(ws.Child("storageClass"), sc, msg))
		}
	}
	seen := map[string]bool{}
	for i, v := range s.DataVolumes {
		p := fld.Child("dataVolumes").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), v.Name, msg))
			}
			if v.Name == "workspace" {
				errs = append(errs, field.Invalid(p.Child("name"), v.Name, "is reserved for the workspace volume"))
			}
			if seen[v.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), v.Name))
			}
			seen[v.Name] = true
		}
		if v.ClaimName == "" && v.Path == "" {
			errs = append(errs, field.Required(p, "one of claimName (Kubernetes) or path (local) is required"))
		}
		if v.ClaimName != "" {
			for _, msg := range validation.IsDNS1123Subdomain(v.ClaimName) {
				errs = append(errs, field.Invalid(p.Child("claimName"), v.ClaimName, msg))
			}
		}
		if v.Path != "" && !path.IsAbs(v.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), v.Path, "must be an absolute path"))
		}
		if v.MountPath != "" && !path.IsAbs(v.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), v.MountPath, "must be an absolute path"))
		}
	}
	envSeen := map[string]bool{}
	for i, e := range s.Env {
		p := fld.Child("env").Index(i).Child("name")
		switch {
		case e.Name == "":
			errs = append(errs, field.Required(p, ""))
		case reservedEnv[e.Name] || strings.HasPrefix(e.Name, reservedEnvPrefix):
			errs = append(errs, field.Forbidden(p, "is set by Kiln ("+reservedEnvPrefix+"*, NB_PREFIX, JUPYTER_TOKEN)"))
		case envSeen[e.Name]:
			errs = append(errs, field.Duplicate(p, e.Name))
		default:
			for _, msg := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, field.Invalid(p, e.Name, msg))
			}
		}
		envSeen[e.Name] = true
	}
	if s.IdleTimeout != nil && s.IdleTimeout.Duration < 0 {
		errs = append(errs, field.Invalid(fld.Child("idleTimeout"), s.IdleTimeout.String(), "must be greater than or equal to 0 (0 disables culling)"))
	}
	return errs
}

func validateQuantity(v string, fld *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return field.ErrorList{field.Invalid(fld, v, "must be a quantity such as 500m, 2 or 4Gi")}
	}
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(fld, v, "must be greater than or equal to 0")}
	}
	return nil
}
