"""The one progress bar of the command line (``replay``, ``feed``): a line on stderr, no dependency."""

from __future__ import annotations

import sys
import time
from typing import Callable, Tuple

#: Seconds between two redraws at the most.
REDRAW_INTERVAL = 0.1


class Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times a second.

    Call it with the current counts (``progress(done)``, or as ``on_progress`` of an export);
    ``render(elapsed_seconds, *counts)`` turns them into the line. ``finish()`` draws the last
    counts (never throttled away) and ends the line. Disabled, it only keeps the counts.
    """

    def __init__(self, render: Callable[..., str], enabled: bool, counts: Tuple[int, ...] = ()) -> None:
        self.render = render
        self.enabled = enabled
        self.last = 0.0
        self.start = time.monotonic()
        self.state = counts  # what finish() draws when nothing was counted yet

    def __call__(self, *counts: int, force: bool = False) -> None:
        self.state = counts
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < REDRAW_INTERVAL and not force:
            return
        self.last = now
        sys.stderr.write("\r" + self.render(now - self.start, *counts))
        sys.stderr.flush()

    def finish(self, *counts: int) -> None:
        """Draws ``counts`` (default: the last ones) and ends the line."""
        if self.enabled:
            self(*(counts or self.state), force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()
