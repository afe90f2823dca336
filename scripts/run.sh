#!/usr/bin/env bash
# make run: start the embedded Kiln server, run the flagship pipeline on it (import → profile →
# split → 16-trial parallel sweep → evaluate on the test split → register), then serve the
# model the "production" alias points at over the Open Inference Protocol v2 and leave both
# running. If the server cannot run the pipeline, the pipeline runs locally instead (its `run`
# subcommand) and serving still starts — the script says which happened.
#
# Environment: KILN_ADDR (server, default 127.0.0.1:8080), SERVE_ADDR (default 127.0.0.1:8081),
# KILN_STATE (default $KILN_CACHE/flagship: server data, registry, logs, binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
KILN_ADDR=${KILN_ADDR:-127.0.0.1:8080}
SERVE_ADDR=${SERVE_ADDR:-127.0.0.1:8081}
STATE=${KILN_STATE:-${KILN_CACHE:-$HOME/.cache/kiln}/flagship}
BIN=$STATE/bin
REGISTRY=$STATE/registry
DATA=$ROOT/datasets/breast-cancer/data.csv
MODEL=breast-cancer
mkdir -p "$BIN" "$REGISTRY" "$STATE/logs"

echo "== building kiln, the flagship pipeline program and kiln-serve"
$GO build -o "$BIN/kiln" ./cmd/kiln
$GO build -o "$BIN/flagship" ./examples/flagship
$GO build -o "$BIN/kiln-serve" ./cmd/kiln-serve

echo "== compiling the flagship pipeline (Argo Workflow, checked by Argo's validation)"
"$BIN/flagship" compile --image local -p data="$DATA" -p registry="$REGISTRY" -o "$STATE/flagship.yaml"

healthy() { curl -fsS -o /dev/null "http://$1" 2>/dev/null; }

ran_on_server=""
if healthy "$KILN_ADDR/healthz" || healthy "$KILN_ADDR/api/v1/healthz"; then
  echo "== a Kiln server is already listening on $KILN_ADDR; using it"
else
  echo "== starting kiln server on $KILN_ADDR (log: $STATE/logs/server.log)"
  nohup "$BIN/kiln" server --addr "$KILN_ADDR" --data "$STATE/server" --pipeline-binary "$BIN/flagship" \
    --log-format text >"$STATE/logs/server.log" 2>&1 &
  echo $! >"$STATE/server.pid"
  for _ in $(seq 1 50); do
    if healthy "$KILN_ADDR/healthz" || healthy "$KILN_ADDR/api/v1/healthz"; then break; fi
    sleep 0.2
  done
fi
export KILN_SERVER=http://$KILN_ADDR

before=$(cat "$REGISTRY/$MODEL/aliases.json" 2>/dev/null || true)
if "$BIN/kiln" pipeline upload "$STATE/flagship.yaml" --name flagship --version "run-$(date +%s)" >/dev/null 2>"$STATE/logs/upload.err"; then
  echo "== running the flagship on the server"
  if "$BIN/kiln" runs create --pipeline flagship --name flagship -p data="$DATA" -p registry="$REGISTRY" --wait -o json >"$STATE/run.json" 2>"$STATE/logs/run.err"; then
    ran_on_server=$(sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' "$STATE/run.json" | head -1)
  else
    echo "   the server run did not succeed: $(tail -3 "$STATE/logs/run.err")"
  fi
else
  echo "   could not upload to the server: $(tail -3 "$STATE/logs/upload.err")"
fi

if [ -z "$ran_on_server" ]; then
  echo "== running the flagship locally instead (flagship run; run files under $STATE/runs)"
  "$BIN/flagship" run --workdir "$STATE/runs" -p data="$DATA" -p registry="$REGISTRY"
fi

after=$(cat "$REGISTRY/$MODEL/aliases.json" 2>/dev/null || true)
version=$(sed -n 's/.*"production": *\([0-9]*\).*/\1/p' "$REGISTRY/$MODEL/aliases.json")
echo
echo "== registry: $MODEL@production is version $version$([ "$before" = "$after" ] && echo " (unchanged: the new version did not beat it)")"
echo "   best parameters (metadata) and test-split metrics:"
sed 's/^/   /' "$REGISTRY/$MODEL/versions/$version/version.json"
echo
if [ -n "$ran_on_server" ]; then
  echo "Run:       $KILN_SERVER/#/runs/$ran_on_server   (API: $KILN_SERVER/api/v1/runs/$ran_on_server)"
  echo "Server:    $KILN_SERVER (still running, pid $(cat "$STATE/server.pid" 2>/dev/null || echo '?'))"
  echo "Registry:  $KILN_SERVER/api/v1/models/$MODEL/aliases/production"
fi

# Four rows of the held-out test split (the split is seeded, so it is the one the run used).
labels=$("$BIN/flagship" test-request "$DATA" "$STATE/request.json")
echo "Inference: http://$SERVE_ADDR/v2/models/$MODEL/infer"
echo
echo "Try it (four test-split rows, true labels: $labels):"
echo "  curl -s http://$SERVE_ADDR/v2/models/$MODEL/infer -H 'Content-Type: application/json' -d @$STATE/request.json"
echo "  curl -s http://$SERVE_ADDR/v2/models/$MODEL    # model metadata: inputs and outputs"
echo
echo "== serving $MODEL@production on http://$SERVE_ADDR (Ctrl-C stops serving; the Kiln server keeps running)"
if [ -n "$ran_on_server" ]; then
  # kiln-serve tags the server registry's production version kiln.dev/endpoint=http://$SERVE_ADDR,
  # so the portal shows the endpoint and its status.
  echo "Endpoint:  $KILN_SERVER/api/v1/models/$MODEL/endpoints"
  exec "$BIN/kiln-serve" -addr "$SERVE_ADDR" -registry "$REGISTRY" -model "$MODEL@production" \
    -kiln-server "$KILN_SERVER" -public-url "http://$SERVE_ADDR"
fi
exec "$BIN/kiln-serve" -addr "$SERVE_ADDR" -registry "$REGISTRY" -model "$MODEL@production" -kiln-server ""
