package artifactstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	// Register the gs:// and s3:// URL schemes with blob.DefaultURLMux.
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound reports a URI with no object and no directory behind it.
	ErrNotFound = errors.New("artifactstore: not found")
	// ErrInvalidURI reports a URI that cannot name an artifact.
	ErrInvalidURI = errors.New("artifactstore: invalid URI")
	// ErrUnsupported reports a location the store cannot read, such as an unknown scheme.
	ErrUnsupported = errors.New("artifactstore: unsupported location")
	// ErrForbidden reports a file:// URI outside the allowed file roots.
	ErrForbidden = errors.New("artifactstore: outside the allowed file roots")
)

// MaxListEntries bounds the entries List returns for one directory.
const MaxListEntries = 10000

// Options configures a Store. The zero value reads s3:// and gs:// URIs with the environment's
// credentials and refuses file:// URIs and bare keys.
type Options struct {
	// DefaultBucket is the bucket URL that bare keys (URIs without a scheme) refer to, such as
	// "s3://artifacts?endpoint=http://minio:9000&region=us-east-1&use_path_style=true",
	// "gs://artifacts" or "file:///var/lib/kiln/artifacts" (created if missing).
	DefaultBucket string
	// FileRoots are the directories file:// URIs may point into; a file:// default bucket's
	// directory is added to them.
	FileRoots []string
	// TrustURIs lets URIs carry any bucket parameters gocloud knows. Without it (the server,
	// where URIs come from users' workflows and registrations) an s3:// or gs:// URI's query
	// may differ from the default bucket's only in region, path style and HTTPS, and name no
	// endpoint but the default bucket's or one of Endpoints: otherwise a URI could make the
	// server send its credentials to any host, read its files (private_key_path) or assume
	// roles.
	TrustURIs bool
	// Endpoints are S3 endpoints besides the default bucket's that URIs may name.
	Endpoints []string
	// MLflowArtifactDir is the directory of the server's MLflow artifact proxy (one
	// subdirectory per namespace, see backend/mlflow.WithArtifactDir); MLflowURI maps
	// mlflow-artifacts: URIs into it, and it is added to FileRoots. Empty: no such URIs.
	MLflowArtifactDir string
}

// Store opens artifacts by URI. It is safe for concurrent use; Close releases its buckets.
type Store struct {
	def       *url.URL        // nil without a default bucket
	mlflow    string          // MLflow artifact proxy directory, absolute; "" when not configured
	trust     bool            // Options.TrustURIs
	endpoints map[string]bool // normalized endpoints URIs may name
	roots     []string
	mu        sync.Mutex
	buckets   map[string]*blob.Bucket
	closed    bool
	fileOpts  *fileblob.Options
}

// Object describes an artifact or one entry of a directory artifact.
type Object struct {
	// URI names the object (or directory) in the store.
	URI string
	// Path is the entry's slash-separated path relative to the directory listed; empty for Stat.
	Path string
	// Size is the object's size in bytes; 0 for a directory.
	Size int64
	// ModTime is when the object was last written, when the backend knows it.
	ModTime time.Time
	// ContentType is the type recorded with the object, when the backend keeps one.
	ContentType string
	// Dir is true for a directory: a local directory or a key prefix with objects under it.
	Dir bool
}

// New returns a Store. The default bucket, when given, is opened now, so a malformed URL or an
// unknown scheme fails here rather than on the first request.
func New(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{buckets: map[string]*blob.Bucket{}, fileOpts: &fileblob.Options{Metadata: fileblob.MetadataDontWrite, NoTempDir: true}}
	for _, r := range opts.FileRoots {
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("artifactstore: file root %q: %w", r, err)
		}
		s.roots = append(s.roots, abs)
	}
	s.trust, s.endpoints = opts.TrustURIs, map[string]bool{}
	for _, e := range opts.Endpoints {
		s.endpoints[normEndpoint(e)] = true
	}
	if opts.MLflowArtifactDir != "" {
		abs, err := filepath.Abs(opts.MLflowArtifactDir)
		if err != nil {
			return nil, fmt.Errorf("artifactstore: MLflow artifact directory %q: %w", opts.MLflowArtifactDir, err)
		}
		s.mlflow = abs
		s.roots = append(s.roots, abs)
	}
	if opts.DefaultBucket != "" {
		u, err := url.Parse(opts.DefaultBucket)
		if err != nil || u.Scheme == "" {
			return nil, fmt.Errorf("artifactstore: default bucket %q: want a URL such as s3://bucket, gs://bucket or file:///dir: %w", opts.DefaultBucket, ErrInvalidURI)
		}
		if u.Path != "" && u.Path != "/" && u.Scheme != "file" {
			return nil, fmt.Errorf("artifactstore: default bucket %q: a bucket URL has no key path (got %q): %w", opts.DefaultBucket, u.Path, ErrInvalidURI)
		}
		s.def = u
		if e := u.Query().Get("endpoint"); e != "" {
			s.endpoints[normEndpoint(e)] = true
		}
		if u.Scheme == "file" {
			dir := filepath.Clean(filepath.FromSlash(u.Path))
			if !filepath.IsAbs(dir) || (u.Host != "" && u.Host != "localhost") {
				return nil, fmt.Errorf("artifactstore: default bucket %q: a file:// URL needs an absolute path: %w", opts.DefaultBucket, ErrInvalidURI)
			}
			s.roots = append(s.roots, dir)
		}
		if _, _, _, err := s.bucket(ctx, ""); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close releases the store's buckets.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for k, b := range s.buckets {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close bucket %s: %w", k, err))
		}
	}
	s.buckets = nil
	return errors.Join(errs...)
}

// location is a URI resolved to a bucket and a key in it.
type location struct {
	bucketURL string // for s3/gs: the gocloud bucket URL; for file: "file://" + root
	fileRoot  string // set for file:// locations
	key       string // slash-separated, no leading slash; empty for a bucket's root
}

// Resolve returns the bucket URL and the key a URI names, without touching the bucket. It is
// how callers can see where a URI leads (for logs and error messages).
func (s *Store) Resolve(uri string) (bucketURL, key string, err error) {
	loc, err := s.resolve(uri)
	if err != nil {
		return "", "", err
	}
	return loc.bucketURL, loc.key, nil
}

func (s *Store) resolve(uri string) (location, error) {
	if uri == "" {
		return location{}, fmt.Errorf("empty URI: %w", ErrInvalidURI)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return location{}, fmt.Errorf("URI %q: %v: %w", uri, err, ErrInvalidURI)
	}
	switch u.Scheme {
	case "":
		if s.def == nil {
			return location{}, fmt.Errorf("key %q: no default bucket is configured: %w", uri, ErrUnsupported)
		}
		if s.def.Scheme == "file" {
			root := filepath.Clean(filepath.FromSlash(s.def.Path))
			return location{bucketURL: "file://" + filepath.ToSlash(root), fileRoot: root, key: cleanKey(uri)}, nil
		}
		return location{bucketURL: s.def.String(), key: cleanKey(uri)}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("URI %q: a file URI names a local path (file:///path), not host %q: %w", uri, u.Host, ErrInvalidURI)
		}
		p := filepath.Clean(filepath.FromSlash(u.Path))
		if !filepath.IsAbs(p) {
			return location{}, fmt.Errorf("URI %q: want an absolute path: %w", uri, ErrInvalidURI)
		}
		for _, root := range s.roots {
			rel, err := filepath.Rel(root, p)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue
			}
			if rel == "." {
				rel = ""
			}
			return location{bucketURL: "file://" + filepath.ToSlash(root), fileRoot: root, key: filepath.ToSlash(rel)}, nil
		}
		return location{}, fmt.Errorf("URI %q: %w", uri, ErrForbidden)
	case "s3", "gs":
		if u.Host == "" {
			return location{}, fmt.Errorf("URI %q: no bucket: %w", uri, ErrInvalidURI)
		}
		q := u.RawQuery
		if q == "" && s.def != nil && s.def.Scheme == u.Scheme {
			q = s.def.RawQuery
		}
		if err := s.checkQuery(u.Scheme, q); err != nil {
			return location{}, fmt.Errorf("URI %q: %w", uri, err)
		}
		b := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: q}
		return location{bucketURL: b.String(), key: cleanKey(u.Path)}, nil
	}
	return location{}, fmt.Errorf("URI %q: scheme %q (want file, s3 or gs): %w", uri, u.Scheme, ErrUnsupported)
}

// cleanKey makes a key relative and drops empty, "." and trailing segments; ".." stays a
// literal segment for object stores (fileblob refuses keys that would leave its root).
func cleanKey(k string) string {
	var parts []string
	for _, p := range strings.Split(k, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}

// maxCachedBuckets bounds the buckets a Store keeps open: URIs may name any bucket, and each
// open bucket holds a client with its own connection pool. Beyond it, buckets are opened for
// one operation and closed after.
const maxCachedBuckets = 32

// bucket returns the opened bucket of uri ("" is the default bucket), the key in it, and a
// release func the caller calls when done with the bucket (and anything read from it).
func (s *Store) bucket(ctx context.Context, uri string) (*blob.Bucket, string, func(), error) {
	var loc location
	if uri == "" {
		loc = location{bucketURL: s.def.String()}
		if s.def.Scheme == "file" {
			loc.fileRoot = filepath.Clean(filepath.FromSlash(s.def.Path))
			loc.bucketURL = "file://" + filepath.ToSlash(loc.fileRoot)
		}
	} else {
		var err error
		if loc, err = s.resolve(uri); err != nil {
			return nil, "", nil, err
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, "", nil, errors.New("artifactstore: store is closed")
	}
	b, ok := s.buckets[loc.bucketURL]
	s.mu.Unlock()
	if ok {
		return b, loc.key, func() {}, nil
	}
	// Open without the lock: opening an S3 bucket loads the SDK's configuration.
	b, err := s.open(ctx, loc, uri == "")
	if err != nil {
		return nil, "", nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cached, ok := s.buckets[loc.bucketURL]; ok { // another caller opened it meanwhile
		_ = b.Close()
		return cached, loc.key, func() {}, nil
	}
	if s.closed || len(s.buckets) >= maxCachedBuckets {
		return b, loc.key, func() { _ = b.Close() }, nil
	}
	s.buckets[loc.bucketURL] = b
	return b, loc.key, func() {}, nil
}

func (s *Store) open(ctx context.Context, loc location, isDefault bool) (*blob.Bucket, error) {
	var b *blob.Bucket
	var err error
	if loc.fileRoot != "" {
		opts := *s.fileOpts
		if isDefault {
			// The default file bucket is where the server writes; create it.
			if err := os.MkdirAll(loc.fileRoot, 0o755); err != nil {
				return nil, fmt.Errorf("artifactstore: default bucket %s: %w", loc.bucketURL, err)
			}
		}
		b, err = fileblob.OpenBucket(loc.fileRoot, &opts)
	} else {
		b, err = blob.OpenBucket(ctx, loc.bucketURL)
	}
	if err != nil {
		return nil, fmt.Errorf("artifactstore: open bucket %s: %w", loc.bucketURL, err)
	}
	return b, nil
}

// Stat describes the artifact at uri: an object, or a directory when there is no object at the
// key but there are objects under key + "/".
func (s *Store) Stat(ctx context.Context, uri string) (Object, error) {
	b, key, release, err := s.bucket(ctx, uri)
	if err != nil {
		return Object{}, err
	}
	defer release()
	if key != "" {
		a, err := b.Attributes(ctx, key)
		if err == nil {
			return Object{URI: uri, Size: a.Size, ModTime: a.ModTime, ContentType: a.ContentType}, nil
		}
		if gcerrors.Code(err) != gcerrors.NotFound {
			return Object{}, fmt.Errorf("stat %s: %w", uri, err)
		}
	}
	it := b.List(&blob.ListOptions{Prefix: dirPrefix(key)})
	if _, err := it.Next(ctx); err == io.EOF {
		return Object{}, fmt.Errorf("%s: %w", uri, ErrNotFound)
	} else if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", uri, err)
	}
	return Object{URI: uri, Dir: true}, nil
}

func dirPrefix(key string) string {
	if key == "" {
		return ""
	}
	return key + "/"
}

// Open returns a reader of the object at uri; the caller closes it. A directory is not an
// object: opening one is ErrNotFound (use List).
func (s *Store) Open(ctx context.Context, uri string) (io.ReadCloser, Object, error) {
	b, key, release, err := s.bucket(ctx, uri)
	if err != nil {
		return nil, Object{}, err
	}
	if key == "" {
		release()
		return nil, Object{}, fmt.Errorf("%s: a bucket root is not an object: %w", uri, ErrNotFound)
	}
	r, err := b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		release()
		return nil, Object{}, fmt.Errorf("%s: %w", uri, ErrNotFound)
	}
	if err != nil {
		release()
		return nil, Object{}, fmt.Errorf("open %s: %w", uri, err)
	}
	return &objectReader{Reader: r, release: release}, Object{URI: uri, Size: r.Size(), ModTime: r.ModTime(), ContentType: r.ContentType()}, nil
}

// List returns the objects under the directory uri (recursively), sorted by path, with Path
// relative to it and URI naming each; at most MaxListEntries are returned, and truncated says
// whether there were more. An empty result with a nil error never happens: no entries is
// ErrNotFound.
func (s *Store) List(ctx context.Context, uri string) (objs []Object, truncated bool, err error) {
	b, key, release, err := s.bucket(ctx, uri)
	if err != nil {
		return nil, false, err
	}
	defer release()
	prefix := dirPrefix(key)
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("list %s: %w", uri, err)
		}
		if o.IsDir {
			continue
		}
		if len(objs) == MaxListEntries {
			truncated = true
			break
		}
		rel := strings.TrimPrefix(o.Key, prefix)
		objs = append(objs, Object{URI: Join(uri, rel), Path: rel, Size: o.Size, ModTime: o.ModTime})
	}
	if len(objs) == 0 {
		return nil, false, fmt.Errorf("%s: %w", uri, ErrNotFound)
	}
	return objs, truncated, nil
}

// Join returns the URI of rel, a slash-separated path inside the directory uri, keeping uri's
// query (bucket configuration).
func Join(uri, rel string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return path.Join(uri, rel)
	}
	u.Path = path.Join(u.Path, rel)
	return u.String()
}

// Write stores the content of r as the object at uri, replacing it. contentType may be empty.
func (s *Store) Write(ctx context.Context, uri string, r io.Reader, contentType string) error {
	b, key, release, err := s.bucket(ctx, uri)
	if err != nil {
		return err
	}
	defer release()
	if key == "" {
		return fmt.Errorf("write %s: no key: %w", uri, ErrInvalidURI)
	}
	w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("write %s: %w", uri, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Close()
		return fmt.Errorf("write %s: %w", uri, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", uri, err)
	}
	return nil
}

// MLflowScheme is the scheme of URIs of artifacts uploaded through MLflow's artifact proxy.
const MLflowScheme = "mlflow-artifacts"

// MLflowURI returns the file:// URI of uri, an "mlflow-artifacts:/path" URI of namespace, under
// Options.MLflowArtifactDir. Without that directory it is ErrUnsupported; a path or namespace
// that would leave it is ErrInvalidURI.
func (s *Store) MLflowURI(namespace, uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != MLflowScheme {
		return "", fmt.Errorf("URI %q: not an %s: URI: %w", uri, MLflowScheme, ErrInvalidURI)
	}
	if s.mlflow == "" {
		return "", fmt.Errorf("URI %q: this server keeps no MLflow artifacts: %w", uri, ErrUnsupported)
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	for _, seg := range append(strings.Split(p, "/"), namespace) {
		if seg == ".." {
			return "", fmt.Errorf("URI %q in namespace %q: %w", uri, namespace, ErrInvalidURI)
		}
	}
	if namespace == "" || strings.ContainsAny(namespace, "/\\") || namespace == "." {
		return "", fmt.Errorf("URI %q: namespace %q: %w", uri, namespace, ErrInvalidURI)
	}
	full := filepath.Join(s.mlflow, namespace, filepath.FromSlash(cleanKey(p)))
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(full)}).String(), nil
}

// safeParams are the bucket parameters any URI may set: they choose how to reach a bucket, not
// where credentials go or which credentials are used.
var safeParams = map[string]bool{"region": true, "use_path_style": true, "s3ForcePathStyle": true, "disable_https": true}

// checkQuery refuses bucket parameters of a URI that could misuse the server's credentials,
// unless they are the default bucket's own or the store trusts URIs.
func (s *Store) checkQuery(scheme, rawQuery string) error {
	if s.trust || rawQuery == "" || (s.def != nil && s.def.Scheme == scheme && rawQuery == s.def.RawQuery) {
		return nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("bucket parameters: %v: %w", err, ErrInvalidURI)
	}
	for k, vs := range q {
		switch {
		case scheme == "s3" && k == "endpoint":
			for _, v := range vs {
				if !s.endpoints[normEndpoint(v)] {
					return fmt.Errorf("endpoint %q is not the artifact store's: %w", v, ErrForbidden)
				}
			}
		case scheme == "s3" && safeParams[k]:
		default:
			return fmt.Errorf("bucket parameter %q is only accepted in the artifact store's own URL: %w", k, ErrForbidden)
		}
	}
	return nil
}

func normEndpoint(e string) string { return strings.ToLower(strings.TrimRight(e, "/")) }

// objectReader releases its bucket when closed.
type objectReader struct {
	*blob.Reader
	release func()
}

// Close closes the reader and releases its bucket.
func (r *objectReader) Close() error {
	err := r.Reader.Close()
	r.release()
	return err
}
