"""`python -m newsbeam`: the same command as `newsbeam`."""

import sys

from newsbeam.pipeline.cli import main

sys.exit(main())
