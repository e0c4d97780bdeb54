#!/usr/bin/env bash
# `make demo`: migrate the SQLite database under var/ (or $DATABASE_URL), load a demo district of about
# 20,000 residents when the database has none, make one sign-in per role, then run the worker and the
# web server until Ctrl-C, which stops both. A second run reuses the data.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
CAREGRID=.venv/bin/caregrid

echo "» migrating the database"
"$CAREGRID" migrate --no-input -v 0
echo "» loading the demo district (skipped when the database has residents)"
"$CAREGRID" seed --residents "${DEMO_RESIDENTS:-20000}" --seed 2022 --if-empty
logins=$("$CAREGRID" demousers)
"$CAREGRID" seedcases --if-empty
"$CAREGRID" seedcare --if-empty
"$CAREGRID" collectstatic --no-input -v 0

WEB= WORKER=
stop() {
  trap - INT TERM EXIT
  echo
  echo "» stopping the web server and the worker"
  [ -n "$WEB" ] && kill -TERM "$WEB" 2>/dev/null || true
  [ -n "$WORKER" ] && kill -TERM "$WORKER" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

"$CAREGRID" worker &
WORKER=$!
"$CAREGRID" serve --host "$HOST" --port "$PORT" &
WEB=$!

# Wait until the server answers (gunicorn needs a moment to boot its workers).
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "http://$HOST:$PORT/login/" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$WEB" 2>/dev/null; then
    echo "the web server did not start (is port $PORT in use? try PORT=8001 make demo)" >&2
    exit 1
  fi
  sleep 0.5
done

cat <<MSG

  caregrid 演示已启动 · the caregrid demo is running
  打开 · open   http://$HOST:$PORT/

  演示账号（每个角色一个）· demo sign-ins, one per role:
$logins

  按 Ctrl-C 停止 · press Ctrl-C to stop

MSG

# Run until Ctrl-C, or until either process ends (then stop the other).
wait -n "$WEB" "$WORKER" || true
