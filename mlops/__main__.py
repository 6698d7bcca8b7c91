"""`python -m mlops`."""

import sys

from mlops.entrypoints.cli import main

sys.exit(main())
