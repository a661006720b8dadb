"""`python -m rtastream`: the command line (see rtastream.cli)."""

import sys

from rtastream.cli import main

sys.exit(main())
