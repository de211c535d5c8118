"""`python -m workshop` runs the CLI."""

import sys

from workshop.cli.main import main

sys.exit(main())
