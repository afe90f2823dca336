// Package postgres starts throwaway PostgreSQL servers for tests from Debian's postgresql
// binaries (initdb and pg_ctl under /usr/lib/postgresql/<version>/bin): a data directory in a
// temporary directory, a server on 127.0.0.1 at a free port with its unix socket in that
// directory, and a fresh database per test.
//
// initdb refuses to run as root, so when the tests run as root the server runs as the postgres
// user the Debian package creates (or nobody), and its directory is handed to that user.
//
// Use Main from TestMain to share one server between the tests of a package; without it, Start
// starts a server per test. The servers run with fsync off: they hold test data only.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// InstallHint says how to get the binaries when they are missing.
const InstallHint = "install postgresql (apt-get install postgresql)"

// ErrNotInstalled reports that no initdb/pg_ctl pair was found.
var ErrNotInstalled = errors.New("postgresql binaries not found: " + InstallHint)

// Server is a running PostgreSQL server owned by the test process.
type Server struct {
	dir  string // temporary directory: data, socket and log
	bin  string
	port int
	cred *syscall.Credential
	dbs  atomic.Int64
}

// FindBinDir returns the directory holding initdb and pg_ctl: $KILN_POSTGRES_BIN if set, else
// the newest /usr/lib/postgresql/*/bin, else the directory of initdb on PATH.
func FindBinDir() (string, error) {
	ok := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("KILN_POSTGRES_BIN"); d != "" {
		if ok(d) {
			return d, nil
		}
		return "", fmt.Errorf("KILN_POSTGRES_BIN=%s has no initdb and pg_ctl: %w", d, ErrNotInstalled)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && ok(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", ErrNotInstalled
}

// version extracts 15 from /usr/lib/postgresql/15/bin.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverUser returns the credentials to run the server with when the process is root.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
		}
	}
	return nil, errors.New("running as root and found neither a postgres nor a nobody user to run the server as")
}

// NewServer initializes a data directory and starts a server. Stop it with Stop.
func NewServer(ctx context.Context) (*Server, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	// Not under the test's TempDir: its parents are private to root, and the server's user must
	// reach the directory. /tmp is world-traversable.
	reapOrphans(ctx, bin, cred)
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Server{dir: dir, bin: bin, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres: hand %s to uid %d: %w", dir, cred.Uid, err)
		}
	}
	if out, err := s.run(ctx, "initdb", "-D", s.data(), "-U", "kiln", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres: initdb: %w\n%s", err, out)
	}
	var startErr error
	for range 3 { // the free port may be taken between probing and binding
		if s.port, startErr = freePort(); startErr != nil {
			break
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
			s.port, s.dir)
		var out []byte
		out, startErr = s.run(ctx, "pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start")
		if startErr == nil {
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		startErr = fmt.Errorf("%w\n%s\n%s", startErr, out, log)
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("postgres: pg_ctl start: %w", startErr)
}

// dirPrefix starts the name of every server directory, followed by the owning process ID.
const dirPrefix = "kiln-postgres-"

// reapOrphans stops servers whose test process died without stopping them (a killed go test)
// and removes their directories, so they do not pile up.
func reapOrphans(ctx context.Context, bin string, cred *syscall.Credential) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), dirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // not ours, or its owner is alive (or we cannot tell)
		}
		orphan := &Server{dir: dir, bin: bin, cred: cred}
		_ = orphan.Stop()
	}
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run runs one of the server binaries as the server's user.
func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the connection string of a database on this server.
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://kiln@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// CreateDatabase creates an empty database and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context) (name, dsn string, err error) {
	name = fmt.Sprintf("test_%d_%d", os.Getpid(), s.dbs.Add(1))
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return name, s.DSN(name), nil
}

// DropDatabase drops a database made by CreateDatabase, closing its connections.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("postgres: drop database %s: %w", name, err)
	}
	return nil
}

// Stop stops the server immediately and removes its directory.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.run(ctx, "pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
	if err != nil {
		err = fmt.Errorf("postgres: pg_ctl stop: %w\n%s", err, out)
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

var (
	sharedMu sync.Mutex
	shared   *Server
)

// Main is for TestMain: it starts one server shared by the package's tests when the binaries
// are present, runs the tests, stops the server and exits.
//
//	func TestMain(m *testing.M) { postgres.Main(m) }
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	srv, err := NewServer(context.Background())
	switch {
	case errors.Is(err, ErrNotInstalled):
		// Start skips (or fails under CI) in each test that asks for a database.
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
		sharedMu.Lock()
		shared = srv
		sharedMu.Unlock()
		defer func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
	}
	return m.Run()
}

// Start returns the DSN of a fresh, empty database that is dropped when the test ends. It uses
// the server started by Main, or starts one for this test. When the binaries are missing it
// skips the test, or fails it when CI=true.
func Start(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	sharedMu.Lock()
	srv := shared
	sharedMu.Unlock()
	if srv == nil {
		var err error
		srv, err = NewServer(ctx)
		if errors.Is(err, ErrNotInstalled) {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%v", err)
			}
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := srv.Stop(); err != nil {
				t.Error(err)
			}
		})
	}
	name, dsn, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.DropDatabase(ctx, name); err != nil && !strings.Contains(err.Error(), "does not exist") {
			t.Error(err)
		}
	})
	return dsn
}
