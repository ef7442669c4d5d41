"""``python -m pnet ...`` is the ``pnet`` command line."""
import sys

from .cli import main

sys.exit(main())
