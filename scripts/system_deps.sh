#!/usr/bin/env bash
# Debian packages the test suite drives for real: docker-compose (validates docker-compose.yml
# offline), Chromium + ChromeDriver (browser tests), redis-server (Redis tests start their own
# when none runs), nginx (tests/test_nginx.py runs deploy/nginx/nginx.conf). Installs only what is
# missing; needs root (CI and dev machines are root).
source "$(dirname "$0")/lib.sh"
need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  log "ERROR: missing system packages: ${need[*]} (install them with your package manager)"
  exit 1
fi
log "installing Debian packages: ${need[*]}"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
