#!/usr/bin/env bash
# Installs what `dlp bench --compare hyperscan` needs: the PyPI `hyperscan` wheel (Python
# bindings with Hyperscan 5.4 statically linked, x86-64 Linux). Nothing else is downloaded.
#
#   bash benches/install-hyperscan.sh          # into the current Python (or its venv)
#   PYTHON=python3.12 bash benches/install-hyperscan.sh
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import hyperscan' 2>/dev/null; then
    echo "hyperscan already installed: $("$PYTHON" -c 'import hyperscan; print(hyperscan.__version__)' 2>/dev/null || echo '?')"
    exit 0
fi
"$PYTHON" -m pip install --disable-pip-version-check --only-binary=:all: 'hyperscan==0.9.*'
"$PYTHON" -c 'import hyperscan; print("hyperscan", hyperscan.__version__, "installed")'
