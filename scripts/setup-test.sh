#!/usr/bin/env bash
# What the test suite needs beyond `make setup`: the optional extras it exercises and a real
# browser. Idempotent.
set -euo pipefail
VENV="${VENV:-.venv}"
PIP="$VENV/bin/pip"
quiet() { "$@" 2>&1 | grep -v "is ignored: it is neither" || true; }
# The CPU build of torch lies on this machine's disk; naming the version keeps pip from
# choosing a multi-GB CUDA build when sentence-transformers / lm-eval / the tune extra ask for torch.
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  quiet "$PIP" install -q torch==2.13.0
fi
quiet "$PIP" install -q -e '.[dev,embed,lmeval,schema,tune]'
"$VENV/bin/python" -c "import torch, sentence_transformers, lm_eval, peft" || {
  echo "error: the test extras did not install" >&2; exit 1; }
# Debian's Chromium for the browser tests (Playwright's own browser download fails here).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    # another apt (a second setup, unattended upgrades) may hold the lock: wait for it
    apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing and cannot be installed here; browser tests will skip" >&2
  fi
fi
