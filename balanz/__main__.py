"""Allows `python -m balanz`, identical to the `balanz` console script."""

import sys

from balanz.cli import main

sys.exit(main())
