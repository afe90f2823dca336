#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a short time each (go test allows one per invocation).
set -euo pipefail
fuzztime="${1:-10s}"
shopt -s nullglob
count=0
while read -r pkg dir; do
  files=("$dir"/*_test.go)
  [ ${#files[@]} -gt 0 ] || continue
  for fn in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(' "${files[@]}" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u); do
    echo "fuzz $pkg $fn ($fuzztime)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg"
    count=$((count + 1))
  done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)
echo "fuzz: $count targets passed"
