#!/usr/bin/env bash
# Installs what the test suite needs when it is missing. Each component that needs a system
# package adds it to PACKAGES below with the command that proves it is present.
set -euo pipefail
need=()
check() { # check COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 || need+=("$2")
}
# (entries are added as subsystems land)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || check initdb postgresql # store tests; Debian keeps initdb off PATH
check jupyter jupyter-notebook # notebooks/local tests run a real Jupyter server
check chromium chromium # portal tests drive a real headless Chromium
/usr/bin/python3 -c 'import sklearn, pandas' >/dev/null 2>&1 || need+=(python3-sklearn python3-pandas) # examples/sklearn runs scikit-learn scripts
check git git # componentspec loads components from git repositories
if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "test-deps: not root; install with: sudo apt-get install ${need[*]}" >&2
    [ "${CI:-}" != true ] || exit 1
  fi
fi
bash "$(dirname "$0")/kube-binaries.sh" >/dev/null # internal/testenv/kube: etcd, kube-apiserver, kwok, Argo controller built from Go modules, cached (first build takes minutes)
