package componentspec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	getter "github.com/hashicorp/go-getter"
)

// DefaultMaxSize is the largest spec file Load accepts unless WithMaxSize says otherwise.
const DefaultMaxSize = 1 << 20

// Limits on archives unpacked to reach a file inside them (https://host/c.tar.gz//comp.yaml).
const (
	archiveFilesLimit    = 10000
	archiveFileSizeLimit = 256 << 20
)

// LoadOption configures Load.
type LoadOption interface{ applyLoad(*loadConfig) }

type loadConfig struct {
	maxSize    int64
	pwd        string
	httpClient *http.Client
	log        *slog.Logger
}

type loadOptionFunc func(*loadConfig)

func (f loadOptionFunc) applyLoad(c *loadConfig) { f(c) }

// WithMaxSize sets the largest spec file accepted, in bytes (default DefaultMaxSize).
func WithMaxSize(n int64) LoadOption {
	return loadOptionFunc(func(c *loadConfig) { c.maxSize = n })
}

// WithWorkingDir sets the directory relative local paths are resolved against (default: the
// process's working directory).
func WithWorkingDir(dir string) LoadOption {
	return loadOptionFunc(func(c *loadConfig) { c.pwd = dir })
}

// WithHTTPClient sets the client for http and https sources (default: go-getter's, which reads
// credentials from ~/.netrc).
func WithHTTPClient(hc *http.Client) LoadOption {
	return loadOptionFunc(func(c *loadConfig) { c.httpClient = hc })
}

// WithLogger logs each fetch at debug level.
func WithLogger(l *slog.Logger) LoadOption {
	return loadOptionFunc(func(c *loadConfig) { c.log = l })
}

// Load fetches a spec file with go-getter and parses it. src is anything go-getter accepts for a
// single file:
//
//	./components/train.yaml, /abs/train.yaml, file:///abs/train.yaml
//	https://example.com/components/train.yaml
//	git::https://github.com/org/repo.git//components/train.yaml?ref=v1.2.0
//	github.com/org/repo//components/train.yaml?ref=main
//	s3::https://s3.amazonaws.com/bucket/components/train.yaml
//	gcs::https://www.googleapis.com/storage/v1/bucket/components/train.yaml
//
// A "//" after the repository, bucket prefix or archive selects the file inside it. Load stops
// when ctx is done, and rejects files larger than the size limit.
func Load(ctx context.Context, src string, opts ...LoadOption) (*Spec, error) {
	cfg := loadConfig{maxSize: DefaultMaxSize}
	for _, o := range opts {
		o.applyLoad(&cfg)
	}
	name := redact(src)
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("load component spec: source is empty")
	}
	data, err := fetch(ctx, src, &cfg)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return nil, fmt.Errorf("load component spec %q: %w", name, err)
	}
	return Parse(data, name)
}

// fetch downloads src into a temporary directory and returns the file's contents.
func fetch(ctx context.Context, src string, cfg *loadConfig) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pwd := cfg.pwd
	if pwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		pwd = wd
	}
	detected, err := getter.Detect(src, pwd, getter.Detectors)
	if err != nil {
		return nil, fmt.Errorf("detect source type: %w", err)
	}
	// A "//" subpath names a file inside something go-getter downloads as a directory (a git
	// repository, a bucket prefix, an archive). go-getter copies subpaths only in directory
	// mode, so fetch the directory and pick the file out ourselves.
	root, sub := getter.SourceDirSubdir(detected)
	tmp, err := os.MkdirTemp("", "kiln-componentspec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	client := &getter.Client{
		Ctx:           ctx,
		Src:           root,
		Pwd:           pwd,
		Detectors:     getter.Detectors,
		Getters:       getters(cfg, sub == ""),
		Decompressors: getter.LimitedDecompressors(archiveFilesLimit, archiveFileSizeLimit),
		// Symlinks inside a fetched repository or archive must not reach outside it.
		DisableSymlinks: true,
	}
	var dir, file string
	if sub == "" {
		client.Mode = getter.ClientModeFile
		client.Dst = filepath.Join(tmp, "spec.yaml")
		dir, file = tmp, "spec.yaml"
	} else {
		client.Mode = getter.ClientModeDir
		client.Dst = filepath.Join(tmp, "root")
		dir = client.Dst
		file = path.Clean(strings.TrimPrefix(sub, "/"))
		if file == "." || !fs.ValidPath(file) {
			return nil, fmt.Errorf("subpath %q: must name a file inside the source, without ..", sub)
		}
	}
	if cfg.log != nil {
		cfg.log.DebugContext(ctx, "fetching component spec", "source", redact(src), "detected", redact(root), "subpath", sub)
	}
	if err := client.Get(); err != nil {
		// The HTTP getter stops reading at the limit and then reports a short write; say why.
		if fi, serr := os.Stat(client.Dst); serr == nil && !fi.IsDir() && fi.Size() > cfg.maxSize {
			return nil, fmt.Errorf("spec file is larger than %d bytes", cfg.maxSize)
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return readLimited(dir, file, sub != "", cfg.maxSize)
}

// getters returns the protocols Load supports, configured for one call: a fresh HTTP getter so
// per-call settings do not leak into go-getter's shared defaults. limitHTTP caps HTTP bodies at
// the spec size limit; it is off when the body is an archive holding the spec.
func getters(cfg *loadConfig, limitHTTP bool) map[string]getter.Getter {
	h := &getter.HttpGetter{
		Netrc:  true,
		Client: cfg.httpClient,
		// A spec file is fetched directly; do not follow Terraform's redirection header.
		XTerraformGetDisabled: true,
		DoNotCheckHeadFirst:   true,
	}
	if limitHTTP {
		// One byte over the limit lets the caller tell a large file from one that fits exactly.
		h.MaxBytes = cfg.maxSize + 1
	}
	return map[string]getter.Getter{
		// Local files are linked, not copied: readLimited reads at most the limit.
		"file":  &getter.FileGetter{Copy: false},
		"git":   new(getter.GitGetter),
		"http":  h,
		"https": h,
		"s3":    new(getter.S3Getter),
		"gcs":   new(getter.GCSGetter),
	}
}

// readLimited reads dir/name, refusing files larger than limit. With inRoot, name must stay
// inside dir, symbolic links included: the directory came from someone else's repository or
// archive. Without it, name is the file go-getter wrote (or linked, for a local source).
func readLimited(dir, name string, inRoot bool, limit int64) ([]byte, error) {
	var f *os.File
	var err error
	if inRoot {
		var root *os.Root
		if root, err = os.OpenRoot(dir); err != nil {
			return nil, err
		}
		defer root.Close()
		f, err = root.Open(name)
	} else {
		f, err = os.Open(filepath.Join(dir, name))
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file in the source", name)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a spec file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("spec file is larger than %d bytes", limit)
	}
	return data, nil
}

// redact hides credentials in a source for messages: a URL password and the values of query
// parameters that carry secrets (go-getter's s3 keys, git ssh keys, tokens).
func redact(src string) string {
	force, rest := "", src
	if i := strings.Index(src, "::"); i > 0 && !strings.ContainsAny(src[:i], "/:") {
		force, rest = src[:i+2], src[i+2:]
	}
	u, err := url.Parse(rest)
	if err != nil || u.Scheme == "" {
		return src
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
		changed = true
	}
	q := u.Query()
	for k, vs := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "key") || strings.Contains(lk, "password") {
			for i := range vs {
				vs[i] = "redacted"
			}
			changed = true
		}
	}
	if !changed {
		return src
	}
	u.RawQuery = q.Encode()
	return force + u.String()
}
