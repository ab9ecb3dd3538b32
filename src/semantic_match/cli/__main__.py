"""``python -m semantic_match.cli`` runs the command line."""

import sys

from .app import main

sys.exit(main())
