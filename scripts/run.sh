#!/usr/bin/env bash
# Sets up (cached venv, cached model) and runs the assistant: action server on :5055 and Rasa
# server on :5005 with the REST and socket.io channels, both bound to 127.0.0.1 by default.
# Embedded default: conversations in a local SQLite file, no Redis needed.
#   OIM_STORE=redis   use Redis tracker + lock stores (endpoints.redis.yml; REDIS_* variables)
#   OIM_HOST=0.0.0.0  listen on every interface (the HTTP API still needs the token)
source "$(dirname "$0")/lib.sh"
venv="$(bash "$REPO_ROOT/scripts/setup.sh")"
cd "$REPO_ROOT"
model="$("$venv/bin/python" -m bot.maintenance.model_cache)"

host="${OIM_HOST:-127.0.0.1}"
rasa_port="${OIM_RASA_PORT:-5005}"
actions_port="${OIM_ACTIONS_PORT:-5055}"
endpoints="endpoints.yml"
if [ "${OIM_STORE:-sqlite}" = "redis" ]; then
  endpoints="endpoints.redis.yml"
  export REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}" \
    REDIS_DB="${REDIS_DB:-0}" REDIS_PASSWORD="${REDIS_PASSWORD:-}" \
    REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-oim}" REDIS_RECORD_EXP="${REDIS_RECORD_EXP:-2592000}" \
    ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:$actions_port/webhook}"
fi

if [ "$endpoints" = "endpoints.yml" ] && [ "$actions_port" != 5055 ]; then
  # The embedded endpoints file names the standard action server port; follow OIM_ACTIONS_PORT.
  mkdir -p "$REPO_ROOT/.runtime"
  sed "s#localhost:5055#127.0.0.1:$actions_port#" endpoints.yml > "$REPO_ROOT/.runtime/endpoints.yml"
  endpoints=".runtime/endpoints.yml"
fi

# A secret kept in the cache folder (mode 600), made once: prints it.
cached_secret() {
  if [ ! -s "$1" ]; then
    mkdir -p "$(dirname "$1")"
    (umask 077; "$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$1")
  fi
  cat "$1"
}

# The Rasa HTTP API (models, trackers) is only ever enabled behind a token.
token_file="$CACHE_ROOT/rasa-api-token"
OIM_RASA_TOKEN="${OIM_RASA_TOKEN:-$(cached_secret "$token_file")}"

# credentials.yml + Telegram / Messenger / WhatsApp when their variables are set (README, Channels).
credentials="$("$venv/bin/python" -m bot.serving.channels)"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_http() {  # url, seconds
  for _ in $(seq "$2"); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 1
  done
  log "ERROR: $1 did not answer in $2 s"; return 1
}

SANIC_HOST="$host" "$venv/bin/rasa" run actions --actions actions --port "$actions_port" &
pids+=($!)
# Rasa's own `rasa run`, with the arguments bot/serving/startup.py gives it: the update gates and the
# tests start their Rasa servers the same way.
"$venv/bin/rasa" run --model "$model" --endpoints "$endpoints" --credentials "$credentials" \
  --interface "$host" --port "$rasa_port" --enable-api --auth-token="$OIM_RASA_TOKEN" &
pids+=($!)
wait_http "http://127.0.0.1:$actions_port/health" 120
wait_http "http://127.0.0.1:$rasa_port/" 180

# Web service: chat page for migrants, staff console, /health (in front of the Rasa REST channel).
web_port="${OIM_WEB_PORT:-8080}"
staff_token_file="$CACHE_ROOT/staff-token"
OIM_STAFF_TOKEN="${OIM_STAFF_TOKEN:-$(cached_secret "$staff_token_file")}"
OIM_STAFF_TOKEN="$OIM_STAFF_TOKEN" OIM_RASA_TOKEN="$OIM_RASA_TOKEN" OIM_ENDPOINTS="$REPO_ROOT/$endpoints" \
  OIM_RASA_URL="http://127.0.0.1:$rasa_port" OIM_ACTIONS_URL="http://127.0.0.1:$actions_port" \
  "$venv/bin/python" -m bot web --host "$host" --port "$web_port" &
pids+=($!)
wait_http "http://127.0.0.1:$web_port/" 60

cat >&2 <<MSG

[oim] The assistant is running (Ctrl-C stops it).
  REST:        curl -s -XPOST http://$host:$rasa_port/webhooks/rest/webhook \\
                 -d '{"sender": "moi", "message": "bonjour"}'
  Web chat:    http://$host:$web_port/          (where migrants chat)
  Staff:       http://$host:$web_port/staff     (token in $staff_token_file or \$OIM_STAFF_TOKEN)
  Health:      http://$host:$web_port/health
  Terminal:    .venv/bin/python -m bot chat        (interactive chat, like rasa shell)
  Store:       $endpoints
  HTTP API:    token in $token_file
MSG
wait -n "${pids[@]}"
