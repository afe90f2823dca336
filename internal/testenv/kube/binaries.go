package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// ErrBinariesMissing reports that the control-plane binaries have not been
// built; scripts/kube-binaries.sh (or `make test`) builds them.
var ErrBinariesMissing = errors.New("kube: control-plane binaries not built; run scripts/kube-binaries.sh (or make test)")

// EnvBinDir names the environment variable that overrides where the binaries
// are looked up.
const EnvBinDir = "KILN_KUBE_BIN"

// builderSums lists the builder modules' go.sum files, relative to the
// repository root, in the order scripts/kube-binaries.sh hashes them.
var builderSums = []string{
	"hack/kube/kubernetes/go.sum",
	"hack/kube/kwok/go.sum",
	"hack/kube/argo/go.sum",
}

// repoRoot returns the repository root, found from this source file's path
// (tests run from a source checkout).
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kube: cannot locate source file")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, builderSums[0])); err != nil {
		return "", fmt.Errorf("kube: locate builder modules: %w", err)
	}
	return root, nil
}

// CacheKey returns the key of the binary cache: the first 16 hex digits of
// the SHA-256 of the builder modules' go.sum files, concatenated in order.
// It must agree with scripts/kube-binaries.sh.
func CacheKey() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, p := range builderSums {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return "", fmt.Errorf("kube: cache key: %w", err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// BinDir returns the directory holding the cached binaries: $KILN_KUBE_BIN
// when set, else ${KILN_CACHE:-$HOME/.cache/kiln}/kube/<CacheKey>/bin. It
// returns ErrBinariesMissing when any of names is absent there.
func BinDir(names ...string) (string, error) {
	dir := os.Getenv(EnvBinDir)
	if dir == "" {
		key, err := CacheKey()
		if err != nil {
			return "", err
		}
		cache := os.Getenv("KILN_CACHE")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("kube: locate cache: %w", err)
			}
			cache = filepath.Join(home, ".cache", "kiln")
		}
		dir = filepath.Join(cache, "kube", key, "bin")
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return dir, fmt.Errorf("%w (%s missing in %s)", ErrBinariesMissing, n, dir)
		}
	}
	return dir, nil
}
