#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
# The autograder zip holds minis2s's source in source/minis2s-src (make_autograder.py).
set -euo pipefail
apt-get install -y python3 python3-pip > /dev/null || true
pip3 install /autograder/source/minis2s-src
