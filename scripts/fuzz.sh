#!/usr/bin/env bash
# Runs every Fuzz* target in the module for a short time each (go test allows one per invocation).
set -euo pipefail
fuzztime="${1:-10s}"
shopt -s nullglob
count=0
fuzz() { # fuzz PKG FN: one pass; a failure other than Go's own end-of-time race is final
  local out
  if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1); then
    echo "$out" | tail -2
    return 0
  fi
  echo "$out"
  # The go command sometimes reports "context deadline exceeded" when -fuzztime ends while a
  # worker is mid-input, with no failing input found; that is not a finding, so try once more.
  if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
    echo "fuzz: $2 ended with the go command's deadline race and no failing input; running it again"
    go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1"
    return
  fi
  return 1
}
while read -r pkg dir; do
  files=("$dir"/*_test.go)
  [ ${#files[@]} -gt 0 ] || continue
  for fn in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(' "${files[@]}" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u); do
    echo "fuzz $pkg $fn ($fuzztime)"
    fuzz "$pkg" "$fn"
    count=$((count + 1))
  done
done < <(go list -f '{{.ImportPath}} {{.Dir}}' ./...)
echo "fuzz: $count targets passed"
