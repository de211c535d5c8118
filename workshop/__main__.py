"""`python -m workshop` runs the CLI."""

import sys

from workshop.cli import main

sys.exit(main())
