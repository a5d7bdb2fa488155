import sys

from convtrack.cli import main

sys.exit(main())
