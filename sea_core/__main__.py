"""`python -m sea_core`."""

import sys

from sea_core.cli import main

sys.exit(main())
