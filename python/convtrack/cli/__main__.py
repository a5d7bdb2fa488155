"""``python -m convtrack.cli``: the same as ``python -m convtrack``."""

import sys

from convtrack.cli import main

if __name__ == "__main__":
    sys.exit(main())
