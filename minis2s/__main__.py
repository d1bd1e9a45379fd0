"""``python -m minis2s ...`` is the ``minis2s`` command (see :mod:`minis2s.app.cli`)."""
import sys

from .app.cli import main

sys.exit(main())
