#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
# The autograder zip holds minis2s's source in source/minis2s-src (make_autograder.py);
# pip installs it with its dependencies (numpy, matplotlib, tqdm, threadpoolctl, filelock).
set -euo pipefail
if ! command -v pip3 > /dev/null; then
    apt-get update > /dev/null && apt-get install -y python3 python3-pip > /dev/null
fi
pip3 install /autograder/source/minis2s-src
python3 -m minis2s --version
