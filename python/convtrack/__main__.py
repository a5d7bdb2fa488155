"""``python -m convtrack``: the command line."""

import sys

from convtrack.cli import main

if __name__ == "__main__":
    sys.exit(main())
