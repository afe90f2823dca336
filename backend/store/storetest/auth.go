package storetest

import (
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

func testAuth(t *testing.T, s store.Store) {
	c := ctx(t)
	tok := &store.Token{Hash: "h1", User: "ada", Name: "laptop"}
	must(t, s.CreateToken(c, tok), "create token")
	wantErr(t, s.CreateToken(c, &store.Token{Hash: "h1", User: "bob"}), store.ErrAlreadyExists, "duplicate hash")
	wantErr(t, s.CreateToken(c, &store.Token{Hash: "h2"}), store.ErrInvalidArgument, "token without user")
	got, err := s.LookupToken(c, "h1")
	must(t, err, "lookup")
	diff(t, "token", tok, got)
	_, err = s.LookupToken(c, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown token")
	expired := &store.Token{Hash: "h3", User: "ada", ExpiresAt: time.Now().Add(-time.Minute)}
	must(t, s.CreateToken(c, expired), "create expired token")
	_, err = s.LookupToken(c, "h3")
	wantErr(t, err, store.ErrNotFound, "expired token")
	future := &store.Token{Hash: "h4", User: "ada", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	must(t, s.CreateToken(c, future), "create token with expiry")
	_, err = s.LookupToken(c, "h4")
	must(t, err, "token before expiry")
	list, err := s.ListTokens(c, "ada")
	must(t, err, "list tokens")
	diff(t, "ada's tokens newest first", []string{"h4", "h3", "h1"}, names(list, func(t *store.Token) string { return t.Hash }))
	must(t, s.DeleteToken(c, "h1"), "delete token")
	wantErr(t, s.DeleteToken(c, "h1"), store.ErrNotFound, "delete twice")

	must(t, s.SetMember(c, store.Member{Namespace: "team-a", User: "ada", Role: store.RoleViewer}), "add member")
	must(t, s.SetMember(c, store.Member{Namespace: "team-a", User: "ada", Role: store.RoleAdmin}), "change role")
	must(t, s.SetMember(c, store.Member{Namespace: "team-b", User: "ada", Role: store.RoleEditor}), "second namespace")
	must(t, s.SetMember(c, store.Member{Namespace: "team-a", User: "bob", Role: store.RoleViewer}), "second member")
	wantErr(t, s.SetMember(c, store.Member{Namespace: "team-a", User: "eve", Role: "owner"}), store.ErrInvalidArgument, "unknown role")
	ms, err := s.UserNamespaces(c, "ada")
	must(t, err, "user namespaces")
	diff(t, "ada's namespaces", []store.Member{{Namespace: "team-a", User: "ada", Role: store.RoleAdmin}, {Namespace: "team-b", User: "ada", Role: store.RoleEditor}}, ms)
	ms, err = s.NamespaceMembers(c, "team-a")
	must(t, err, "namespace members")
	diff(t, "team-a", []store.Member{{Namespace: "team-a", User: "ada", Role: store.RoleAdmin}, {Namespace: "team-a", User: "bob", Role: store.RoleViewer}}, ms)
	must(t, s.RemoveMember(c, "team-a", "bob"), "remove member")
	wantErr(t, s.RemoveMember(c, "team-a", "bob"), store.ErrNotFound, "remove twice")
}
