#!/usr/bin/env bash
# Prints the path of the trained model for the current config, domain and data, training it only
# if the cache (outside the repo, keyed by a hash of those files) does not have it yet.
source "$(dirname "$0")/lib.sh"
venv="$(bash "$REPO_ROOT/scripts/setup.sh")"
cd "$REPO_ROOT"
"$venv/bin/python" -m bot.maintenance.model_cache "$@"
