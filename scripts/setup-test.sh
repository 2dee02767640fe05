#!/usr/bin/env bash
# Extra pieces the test suite needs beyond `make setup`.
set -euo pipefail
VENV="${VENV:-.venv}"
true
