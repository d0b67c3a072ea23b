#!/usr/bin/env bash
# Creates (or reuses) the project's virtualenv, cached outside the repo and keyed by a hash of
# requirements.lock, and points .venv at it. A second run with the same lock takes seconds.
source "$(dirname "$0")/lib.sh"

lock_hash="$(hash_files requirements.lock)"
venv="$CACHE_ROOT/venvs/py310-$lock_hash"

if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  if ! py="$(find_python310)"; then
    log "ERROR: Python 3.10 is required (Rasa 3.6 supports Python < 3.11) and none was found."
    log "Install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv',"
    log "or set OIM_PYTHON=/path/to/python3.10."
    exit 1
  fi
  log "creating virtualenv with $py in $venv (first run: a few minutes)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
  # pip's notes about this machine's local mirror folders are noise: filter them, keep errors.
  { "$venv/bin/python" -m pip install --quiet --upgrade pip \
      && "$venv/bin/python" -m pip install --quiet --no-deps -r "$REPO_ROOT/requirements.lock"; } \
      2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  "$venv/bin/python" -m pip check >&2
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$REPO_ROOT/.venv"
echo "$venv"
