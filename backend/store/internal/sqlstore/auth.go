package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kilnml/kiln/backend/store"
)

// CreateToken implements store.Auth.
func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	if t.Hash == "" || t.User == "" {
		return fmt.Errorf("create token: %w: hash and user are required", store.ErrInvalidArgument)
	}
	t.CreatedAt = s.now()
	_, err := s.exec(ctx, s.write, `INSERT INTO tokens (hash, user_name, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.User, t.Name, t.CreatedAt.UnixNano(), nanos(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create token %q for %q: %w", t.Name, t.User, s.classify(err))
	}
	return nil
}

func scanToken(sc interface{ Scan(...any) error }) (*store.Token, error) {
	var t store.Token
	var created, expires sql.NullInt64
	if err := sc.Scan(&t.Hash, &t.User, &t.Name, &created, &expires); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	return &t, nil
}

// LookupToken implements store.Auth.
func (s *Store) LookupToken(ctx context.Context, hash string) (*store.Token, error) {
	t, err := scanToken(s.queryRow(ctx, s.read, `SELECT hash, user_name, name, created_at, expires_at FROM tokens
WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)`, hash, s.now().UnixNano()))
	if err != nil {
		// The hash is a credential: it stays out of the error.
		return nil, fmt.Errorf("look up token: %w", s.classify(err))
	}
	return t, nil
}

// ListTokens implements store.Auth.
func (s *Store) ListTokens(ctx context.Context, user string) ([]*store.Token, error) {
	rows, err := s.query(ctx, s.read, `SELECT hash, user_name, name, created_at, expires_at FROM tokens WHERE user_name = ?
ORDER BY created_at DESC, hash`, user)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", user, err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens of %q: %w", user, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken implements store.Auth.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	if err := mustAffect(s.exec(ctx, s.write, `DELETE FROM tokens WHERE hash = ?`, hash)); err != nil {
		return fmt.Errorf("delete token: %w", s.classify(err))
	}
	return nil
}

// SetMember implements store.Auth.
func (s *Store) SetMember(ctx context.Context, m store.Member) error {
	switch {
	case m.Namespace == "" || m.User == "":
		return fmt.Errorf("set member: %w: namespace and user are required", store.ErrInvalidArgument)
	case m.Role != store.RoleViewer && m.Role != store.RoleEditor && m.Role != store.RoleAdmin:
		return fmt.Errorf("set member %q of %q: %w: role %q: want viewer, editor or admin", m.User, m.Namespace, store.ErrInvalidArgument, m.Role)
	}
	_, err := s.exec(ctx, s.write, `INSERT INTO namespace_members (namespace, user_name, role) VALUES (?, ?, ?)
ON CONFLICT (namespace, user_name) DO UPDATE SET role = excluded.role`, m.Namespace, m.User, string(m.Role))
	if err != nil {
		return fmt.Errorf("set member %q of %q: %w", m.User, m.Namespace, s.classify(err))
	}
	return nil
}

// RemoveMember implements store.Auth.
func (s *Store) RemoveMember(ctx context.Context, namespace, user string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM namespace_members WHERE namespace = ? AND user_name = ?`, namespace, user))
	if err != nil {
		return fmt.Errorf("remove member %q of %q: %w", user, namespace, s.classify(err))
	}
	return nil
}

func (s *Store) members(ctx context.Context, where, order, value string) ([]store.Member, error) {
	rows, err := s.query(ctx, s.read, `SELECT namespace, user_name, role FROM namespace_members WHERE `+where+` = ? ORDER BY `+order, value)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.Namespace, &m.User, &m.Role); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UserNamespaces implements store.Auth.
func (s *Store) UserNamespaces(ctx context.Context, user string) ([]store.Member, error) {
	out, err := s.members(ctx, "user_name", "namespace", user)
	if err != nil {
		return nil, fmt.Errorf("namespaces of %q: %w", user, err)
	}
	return out, nil
}

// NamespaceMembers implements store.Auth.
func (s *Store) NamespaceMembers(ctx context.Context, namespace string) ([]store.Member, error) {
	out, err := s.members(ctx, "namespace", "user_name", namespace)
	if err != nil {
		return nil, fmt.Errorf("members of %q: %w", namespace, err)
	}
	return out, nil
}
