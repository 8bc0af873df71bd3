"""A progress bar on stderr for long runs: only on a terminal, only above MIN_FILES files, never for machine formats.

The engine knows nothing about terminals: it calls `progress(done, total)` and this module draws. The bar redraws
at most once per percent and erases itself when the run ends, so the findings on stdout are all that stays.
"""

from __future__ import annotations

import sys
from typing import TextIO

MIN_FILES = 100  # below this a run is over before a bar would help
WIDTH = 30


def wanted(total_files: int, output_format: str, quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether a run should show a bar: text output, not --quiet, many files, and stderr is a terminal."""
    if quiet or output_format != "text" or total_files < MIN_FILES:
        return False
    stream = stream if stream is not None else sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


class ProgressBar:
    """`bar(done, total)` draws `chatkit-fix [#####.....]  120/400 files`; `bar.close()` erases it."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self._last: tuple[int, int] | None = None
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        percent = min(100, done * 100 // total)
        if self._last is not None and self._last[0] == percent and done != total:
            return
        self._last = (percent, done)
        filled = WIDTH * percent // 100
        bar = "#" * filled + "." * (WIDTH - filled)
        self.stream.write(f"\rchatkit-fix [{bar}] {done:>{len(str(total))}}/{total} files")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False
