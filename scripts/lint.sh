#!/usr/bin/env bash
# Static checks, run by `make lint` and by scripts/test.sh before the tests: ruff (style and
# bugs), mypy (types of bot/ and actions/), import-linter (the layers of docs/architecture.md).
source "$(dirname "$0")/lib.sh"
venv="$(bash "$REPO_ROOT/scripts/setup.sh")"
cd "$REPO_ROOT"
log "lint: ruff"
"$venv/bin/ruff" check bot actions tests benchmarks
log "lint: mypy"
"$venv/bin/mypy" bot actions
log "lint: import-linter"
"$venv/bin/lint-imports" --no-cache
