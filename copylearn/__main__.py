"""``python -m copylearn`` runs the command-line tool."""

import sys

from copylearn.cli import main

sys.exit(main())
