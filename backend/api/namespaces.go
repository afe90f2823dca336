package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/kilnml/kiln/backend/store"
)

// NamespaceAccess is a namespace the caller may use and the role they have in it.
type NamespaceAccess struct {
	Name string `json:"name"`
	// Role is "viewer", "editor" or "admin"; with authentication disabled every namespace is
	// "admin".
	Role string `json:"role"`
}

// ListNamespacesResponse lists the caller's namespaces, ordered by name.
type ListNamespacesResponse struct {
	Namespaces []NamespaceAccess `json:"namespaces"`
}

// NamespaceLister is implemented by stores that can list the namespaces holding any object.
// With authentication disabled, GET /api/v1/namespaces lists them when the store offers it;
// otherwise it lists DefaultNamespace and the LocalUser's memberships.
type NamespaceLister interface {
	ListNamespaces(ctx context.Context) ([]string, error)
}

// listNamespaces answers GET /api/v1/namespaces: the caller's memberships with their roles.
func (h *Handler) listNamespaces(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	user, err := h.Authenticate(r)
	if err != nil {
		return err
	}
	ms, err := h.st.UserNamespaces(ctx, user)
	if err != nil {
		return fmt.Errorf("namespaces of %q: %w", user, err)
	}
	out := ListNamespacesResponse{Namespaces: []NamespaceAccess{}}
	if !h.noAuth {
		for _, m := range ms {
			out.Namespaces = append(out.Namespaces, NamespaceAccess{Name: m.Namespace, Role: string(m.Role)})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	// Without authentication every request may use every namespace.
	names := []string{DefaultNamespace}
	for _, m := range ms {
		names = append(names, m.Namespace)
	}
	if l, ok := h.st.(NamespaceLister); ok {
		more, err := l.ListNamespaces(ctx)
		if err != nil {
			return fmt.Errorf("list namespaces: %w", err)
		}
		names = append(names, more...)
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		out.Namespaces = append(out.Namespaces, NamespaceAccess{Name: n, Role: string(store.RoleAdmin)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
