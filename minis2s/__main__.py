"""``python -m minis2s ...`` is the ``minis2s`` command (see :mod:`minis2s.cli`)."""
import sys

from .cli import main

sys.exit(main())
