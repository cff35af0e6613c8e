#!/usr/bin/env bash
# Sets everything up and runs mevbot's main job. Extra arguments go to `mevbot`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
  set -- --help
fi
exec .venv/bin/mevbot "$@"
