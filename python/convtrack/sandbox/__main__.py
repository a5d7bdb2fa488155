"""``python -m convtrack.sandbox``: serve in the foreground until Ctrl-C or SIGTERM."""

import sys

from convtrack.sandbox._command import main

if __name__ == "__main__":
    sys.exit(main())
