#!/usr/bin/env bash
# Install handatlas with its test and build extras (build versions pinned by handatlas/build/constraints.txt)
# into .venv and run the whole test suite.
# Works on a fresh Debian machine with Python 3.11+: installs the Debian packages the tests need
# when they are missing (EGL + Mesa for off-screen rendering; chromium for the browser tests in
# tests/browser, driven by Playwright -- never `playwright install`; postgresql, whose server the
# progress tests start privately).  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "handatlas needs Python 3.11 or newer")'

debs=(libegl1 libegl-mesa0 libgl1-mesa-dri)
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
# the browser tests run Debian's chromium at this path
[ -x /usr/bin/chromium ] || missing+=(chromium)
# the progress tests start a private PostgreSQL server from Debian's binaries (tests/pg_server.py)
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# the build extra with the versions that made the committed meshes (the rebuild test needs them)
.venv/bin/python -m pip install -q -c handatlas/build/constraints.txt -e ".[test,build]"
.venv/bin/ruff check handatlas tests benchmarks
.venv/bin/python -m pytest "$@"
