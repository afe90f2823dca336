#!/usr/bin/env bash
# Builds the binaries that Kiln's Kubernetes test harness (internal/testenv/kube) runs — etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok and Argo's workflow-controller —
# from the builder modules under hack/kube, into a cache directory keyed by their go.sum files:
#   ${KILN_CACHE:-$HOME/.cache/kiln}/kube/<key>/bin
# Binaries already in the cache are not rebuilt, so a warm run takes well under a second.
# Prints the bin directory on stdout. With --core only etcd and kube-apiserver are built.
# The key must match internal/testenv/kube.CacheKey (sha256 of the three go.sum files, in order).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hack=$root/hack/kube
key=$(cat "$hack/kubernetes/go.sum" "$hack/kwok/go.sum" "$hack/argo/go.sum" | sha256sum | cut -c1-16)
bin=${KILN_CACHE:-$HOME/.cache/kiln}/kube/$key/bin
core=false
[ "${1:-}" != --core ] || core=true
mkdir -p "$bin"
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"

missing() { # missing NAME... — true when any of the binaries is absent
  local n
  for n in "$@"; do [ -x "$bin/$n" ] || return 0; done
  return 1
}
# build DIR LDFLAGS PKG... — builds into a temporary directory, then moves the binaries into place
# so an interrupted build never leaves a truncated binary in the cache.
build() {
  local dir=$1 ld=$2 tmp start
  shift 2
  tmp=$(mktemp -d "$bin/.build.XXXXXX")
  start=$(date +%s)
  echo "kube-binaries: building $* (cold builds take minutes)" >&2
  go build -C "$dir" -trimpath -ldflags "-s -w $ld" -o "$tmp/" "$@"
  mv "$tmp"/* "$bin/"
  rmdir "$tmp"
  echo "kube-binaries: built in $(($(date +%s) - start))s" >&2
}

kv=v1.35.4
kld=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kld="$kld -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=35 -X $p.gitTreeState=clean"
done
if $core; then
  if missing etcd kube-apiserver; then
    build "$hack/kubernetes" "$kld" ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver
  fi
else
  if missing etcd kube-apiserver kube-controller-manager kube-scheduler; then
    build "$hack/kubernetes" "$kld" ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  fi
  if missing kwok; then
    build "$hack/kwok" "" sigs.k8s.io/kwok/cmd/kwok
  fi
  if missing workflow-controller; then
    build "$hack/argo" "-X github.com/argoproj/argo-workflows/v3.version=v3.7.18" \
      github.com/argoproj/argo-workflows/v3/cmd/workflow-controller
  fi
fi
echo "$bin"
