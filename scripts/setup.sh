# Sourced by scripts/run and scripts/test: makes a fresh Debian/Ubuntu machine ready.
#   - Debian packages it lacks (as root; otherwise it says what to install)
#   - .venv with the pinned Python packages
#   - the translations compiled (gettext's msgfmt)
#   - the outside judges (setup_judges, for scripts/test): Lighthouse and pa11y from
#     judges/package-lock.json, checkov in .venv-judges
#   - Postgres and Redis: DATABASE_URL / REDIS_URL when set; else a server already on
#     the standard local port; else a project-local one started from the installed
#     programs, with its data under .local/ (git-ignored)
# Never a fake or in-memory store.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
mkdir -p "$LOCAL"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

apt_updated=0
apt_install() {
  # apt_install PACKAGE... : installs the Debian packages that are missing.
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}"
  fi
  say "Installing Debian packages: ${missing[*]}"
  if [ $apt_updated -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  die "Python 3.11 or newer is needed (sudo apt-get install -y python3 python3-venv)"
}

setup_python() {
  local py
  py="$(find_python)"
  if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    say "Creating .venv"
    "$py" -m venv "$ROOT/.venv"
  fi
  local stamp="$ROOT/.venv/.requirements.sha"
  local want
  want="$(cat "$ROOT"/requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing Python packages"
    "$ROOT/.venv/bin/pip" install -q --upgrade pip
    "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements-dev.txt"
    echo "$want" >"$stamp"
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

use_running() {
  # use_running NAME VAR URL PORT: the server $VAR names, else one already on the local
  # PORT (then VAR=URL). Fails when neither, leaving VAR=URL for a server to be started.
  local name=$1 var=$2 url=$3 port=$4
  if [ -n "${!var:-}" ]; then
    say "$name: using $var"
    return 0
  fi
  export "$var=$url"
  if port_open 127.0.0.1 "$port"; then
    say "$name: using the server on 127.0.0.1:$port"
    return 0
  fi
  return 1
}

ensure_postgres() {
  use_running Postgres DATABASE_URL "postgres://postgres@127.0.0.1:5432/votingsite" 5432 && return 0
  [ -n "$(pg_bin)" ] || apt_install postgresql
  # Debian's package may have started its own cluster.
  if port_open 127.0.0.1 5432; then return 0; fi
  local bin data="$LOCAL/postgres"
  bin="$(pg_bin)"
  say "Postgres: starting a project-local server (data in .local/postgres)"
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    # Postgres refuses to run as root.
    run=(runuser -u postgres --)
    mkdir -p "$data"
    chown postgres "$data" "$LOCAL"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p 5432 -k /tmp" start >/dev/null
}

ensure_redis() {
  use_running Redis REDIS_URL "redis://127.0.0.1:6379/0" 6379 && return 0
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  if port_open 127.0.0.1 6379; then return 0; fi
  say "Redis: starting a project-local server (append-only data in .local/redis)"
  mkdir -p "$LOCAL/redis"
  redis-server --bind 127.0.0.1 --port 6379 --dir "$LOCAL/redis" --appendonly yes \
    --daemonize yes --logfile "$LOCAL/redis/server.log" --pidfile "$LOCAL/redis/redis.pid"
  for _ in $(seq 50); do port_open 127.0.0.1 6379 && return 0; sleep 0.1; done
  die "Redis did not start; see .local/redis/server.log"
}

ensure_database() {
  # Creates the database named in DATABASE_URL when it does not exist yet.
  python "$ROOT/scripts/ensure_database.py"
}

ensure_nginx() {
  # Debian's nginx is the front door (scripts/run, the tests), started with a
  # configuration of our own; the package's own service (a default site on port 80 of
  # every address) is stopped where installing it started it.
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && return 0
  apt_install nginx
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
}

compile_messages() {
  # The translations (locale/*.po) compiled for Django: the .mo files are not committed.
  # GNU gettext's msgfmt does it (compilemessages calls it).
  command -v msgfmt >/dev/null 2>&1 || apt_install gettext
  "$ROOT/.venv/bin/python" "$ROOT/manage.py" compilemessages --ignore=.venv --ignore=staticfiles -v 0
  # The scripts' catalogue per language (django-statici18n), from what was just compiled:
  # the pages load it as a static file (collectstatic writes it again when it collects).
  "$ROOT/.venv/bin/python" "$ROOT/manage.py" compilejsi18n -v 0
}

setup_judges() {
  # Judges we did not write (tests/deploy/test_judges.py). Lighthouse and pa11y: npm packages
  # pinned by judges/package-lock.json, run in Debian's chromium (never a browser of
  # puppeteer's own: PUPPETEER_SKIP_DOWNLOAD). They need Node.js 20+: Debian 13's nodejs,
  # or NodeSource's on Debian 12 (whose own is 18); with an older Node their tests skip
  # (fail under CI). checkov: its own virtualenv, its pins clash with ours.
  command -v node >/dev/null 2>&1 || apt_install nodejs npm
  if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
    say "Node.js 20+ not found: the Lighthouse and pa11y tests will not run"
  else
    local stamp="$ROOT/judges/node_modules/.lock.sha" want
    want="$(sha256sum "$ROOT/judges/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      say "Installing the judges' npm packages (judges/package-lock.json)"
      (cd "$ROOT/judges" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
      echo "$want" >"$stamp"
    fi
  fi
  local venv="$ROOT/.venv-judges" pins="$ROOT/judges/requirements-checkov.txt"
  [ -x "$venv/bin/python" ] || "$(find_python)" -m venv "$venv"
  if [ "$(cat "$venv/.requirements.sha" 2>/dev/null)" != "$(sha256sum <"$pins")" ]; then
    say "Installing checkov (.venv-judges)"
    "$venv/bin/pip" install -q -r "$pins"
    sha256sum <"$pins" >"$venv/.requirements.sha"
  fi
}

setup_all() {
  cd "$ROOT"
  apt_install ca-certificates
  ensure_nginx
  setup_python
  compile_messages
  ensure_postgres
  ensure_redis
  ensure_database
}
