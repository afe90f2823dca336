package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/store"
)

// TokensFile is the auth configuration of an embedded server:
//
//	users:
//	- name: alice
//	  tokens: ["s3cret", "sha256:<hex of a token>"]
//	  namespaces: {team-a: editor, team-b: viewer}
//
// Tokens are stored hashed; a "sha256:" entry is a hash already, so the file need not hold the
// secret.
type TokensFile struct {
	Users []TokenUser `json:"users"`
}

// TokenUser is one user of a TokensFile.
type TokenUser struct {
	Name       string                `json:"name"`
	Tokens     []string              `json:"tokens"`
	Namespaces map[string]store.Role `json:"namespaces"`
}

// LoadTokensFile reads and validates a TokensFile.
func LoadTokensFile(path string) (*TokensFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens file: %w", err)
	}
	var tf TokensFile
	if err := yaml.UnmarshalStrict(b, &tf); err != nil {
		return nil, fmt.Errorf("parse tokens file %s: %w", path, err)
	}
	var errs field.ErrorList
	for i, u := range tf.Users {
		p := field.NewPath("users").Index(i)
		if u.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if len(u.Tokens) == 0 {
			errs = append(errs, field.Required(p.Child("tokens"), ""))
		}
		for ns, role := range u.Namespaces {
			switch role {
			case store.RoleViewer, store.RoleEditor, store.RoleAdmin:
			default:
				errs = append(errs, field.NotSupported(p.Child("namespaces").Key(ns), role, []store.Role{store.RoleViewer, store.RoleEditor, store.RoleAdmin}))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("tokens file %s: %w", path, errs.ToAggregate())
	}
	return &tf, nil
}

// applyTokens stores the file's tokens and memberships (idempotently).
func applyTokens(ctx context.Context, st store.Store, tf *TokensFile) error {
	for _, u := range tf.Users {
		for i, tok := range u.Tokens {
			hash, ok := strings.CutPrefix(tok, "sha256:")
			if !ok {
				hash = api.HashToken(tok)
			}
			err := st.CreateToken(ctx, &store.Token{Hash: hash, User: u.Name, Name: fmt.Sprintf("tokens file #%d", i)})
			if err != nil && !errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("store token of %q: %w", u.Name, err)
			}
		}
		for ns, role := range u.Namespaces {
			if err := st.SetMember(ctx, store.Member{Namespace: ns, User: u.Name, Role: role}); err != nil {
				return fmt.Errorf("grant %q namespace %q: %w", u.Name, ns, err)
			}
		}
	}
	return nil
}

// isLoopback reports whether addr ("host:port") listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
