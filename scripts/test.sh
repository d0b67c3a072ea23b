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
# Three workers (OIM_TEST_WORKERS=0: one process): test groups that start their own servers run side
# by side; tests/conftest.py keeps the users of one server in one worker.
workers="${OIM_TEST_WORKERS:-3}"
xdist=()
if [ "$workers" != "0" ]; then xdist=(-n "$workers" --dist loadgroup); fi
# pytest's cache (each module's duration, read by tests/conftest.py to start the longest groups
# first) lives with the other caches, so a fresh clone on this machine is ordered like the last run.
"$venv/bin/python" -m pytest -o cache_dir="$CACHE_ROOT/pytest" "${xdist[@]}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  log "ERROR: pytest collected no test"
fi
exit "$status"
