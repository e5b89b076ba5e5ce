#!/usr/bin/env bash
# Install CSLE's intrusion-prevention environment (gym-csle-stopping-game 0.10.1 and
# csle-common 0.10.1) into a folder of its own, for tests/test_csle_compat.py.
#
# Usage: scripts/install-csle.sh [DIR]     (default: .tools/csle in the repository)
# Then:  POMDB_CSLE_DIR=DIR .venv/bin/python -m pytest tests/test_csle_compat.py
#
# The project's .venv is left as it is: pip writes only into DIR (`--target`), and the
# test starts CSLE in a subprocess with PYTHONPATH=DIR, so CSLE and its dependencies
# are never importable in the project's own interpreter. Safe to run again: an
# existing installation is kept. Only the package index that pip is configured with
# is contacted.
set -euo pipefail

CSLE_VERSION="0.10.1"
# `pip install --target` ignores what is installed in the running environment, so it
# installs every dependency into DIR, torch included, even though .venv has torch.
# csle-common 0.10.1 requires torch>=1.13.0; pinning the CPU build 2.13.0 that the
# project uses keeps pip from resolving a newer torch, which can be a CUDA build of
# several GB.
PACKAGES=(
  "gym-csle-stopping-game==$CSLE_VERSION"
  "csle-common==$CSLE_VERSION"
  "torch==2.13.0"
)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$repo_root/.tools/csle}"
python="$repo_root/.venv/bin/python"
marker="gym_csle_stopping_game-$CSLE_VERSION.dist-info"

log() { printf 'install-csle: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

[[ -x "$python" ]] ||
  fail "$python not found; create the project's virtual environment first"

if [[ -d "$target/$marker" && -d "$target/csle_common" ]]; then
  log "gym-csle-stopping-game $CSLE_VERSION is already installed in $target"
  exit 0
fi
if [[ -d "$target" && -z "$(ls -A "$target")" ]]; then
  rmdir "$target"
fi
[[ ! -e "$target" ]] ||
  fail "$target exists but does not contain gym-csle-stopping-game $CSLE_VERSION; remove it and run again"

# Install into a temporary folder beside DIR and rename it at the end, so an
# interrupted install never leaves a DIR that the test would take for complete.
mkdir -p "$(dirname "$target")"
staging="$(mktemp -d "$(dirname "$target")/.csle-install.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

log "installing ${PACKAGES[*]} into $target"
"$python" -m pip install --quiet --no-input --disable-pip-version-check \
  --target "$staging" "${PACKAGES[@]}"

mv "$staging" "$target"
trap - EXIT
log "done; run the comparison with POMDB_CSLE_DIR=$target"
