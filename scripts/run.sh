#!/usr/bin/env bash
# Sets everything up and runs mevbot's main job: with no arguments, a short bounded trading session
# against the embedded sandbox, ending with a summary. Extra arguments go to `mevbot` instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
  set -- run --config configs/sandbox.toml --duration 30
fi
exec .venv/bin/mevbot "$@"
