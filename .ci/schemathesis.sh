#!/usr/bin/env bash
# Contract test: Schemathesis (PyPI) against the real server's own /admin/openapi.json.
# Every response must match the document (status codes, content types, schemas) and the
# server must refuse what the document forbids; any failure fails the run.
# Usage: .ci/schemathesis.sh [path to the callbook binary]   (default target/debug/callbook)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/callbook}"
VENV="${SCHEMATHESIS_VENV:-$HOME/.cache/callbook-schemathesis}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==4.*"
fi

DIR="$(mktemp -d)"
PORT=18555
TOKEN="schemathesis-admin-token-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$DIR/callbook.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[database]
url = "sqlite://$DIR/callbook.db"
[admin]
token = "$TOKEN"
[[sources]]
name = "calendly"
provider = "calendly"
signing_keys = ["schemathesis-signing-key-5mEzn9C-I28UtwOjZJtFoob0"]
[[sources]]
name = "aircall"
provider = "aircall"
tokens = ["schemathesis-aircall-token"]
[directory]
enabled = true
[[destinations]]
name = "crm"
url = "http://127.0.0.1:9/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOML
"$BIN" serve --config "$DIR/callbook.toml" > "$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DIR"' EXIT
python3 - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("the server did not start")
PY
# Some data for the operations to find: events, and deliveries that fail (port 9 refuses).
for event in invitee.created invitee.canceled; do
  "$BIN" send-test --config "$DIR/callbook.toml" --source calendly --event "$event" >/dev/null
done
"$BIN" send-test --config "$DIR/callbook.toml" --source aircall --event call.ended >/dev/null

"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/admin/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-100}"
