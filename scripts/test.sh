#!/usr/bin/env bash
# The whole test suite from nothing: venv (cached), browser, lint, model (cached), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k knowledge).
source "$(dirname "$0")/lib.sh"
venv="$(bash "$REPO_ROOT/scripts/setup.sh")"
bash "$REPO_ROOT/scripts/system_deps.sh"
bash "$REPO_ROOT/scripts/lint.sh"
cd "$REPO_ROOT"
export OIM_MODEL="$("$venv/bin/python" -m bot.maintenance.model_cache)"
set +e
"$venv/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  log "ERROR: pytest collected no test"
fi
exit "$status"
