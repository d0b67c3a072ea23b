# Shared helpers for the scripts in this folder (sourced, not run).
# Why: one place that knows where the caches live and how to find Python 3.10.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${OIM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oim-assistant}"

log() { printf '[oim] %s\n' "$*" >&2; }

# Hash of the given files' contents (paths relative to the repo root), first 16 hex chars.
hash_files() {
  (cd "$REPO_ROOT" && cat "$@" | sha256sum | cut -c1-16)
}

# Prints the path of a Python 3.10 interpreter: PATH first, then pyenv's versions.
find_python310() {
  local candidate
  for candidate in "${OIM_PYTHON:-}" python3.10 \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 \
      /usr/local/bin/python3.10 /usr/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# Quiet, offline-friendly defaults for every Rasa process we start.
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export OIM_CACHE_DIR="$CACHE_ROOT"
