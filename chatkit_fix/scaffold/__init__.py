"""`chatkit-fix init`: render a complete, correct ChatKit integration into a project.

Importing this package stays cheap; Jinja, black and tomlkit load on the first call.
"""

from __future__ import annotations

from pathlib import Path

from .options import InitOptions, ScaffoldError
from .report import Action, FileResult, InitReport

__all__ = ["Action", "FileResult", "InitOptions", "InitReport", "ScaffoldError", "init_project"]


def init_project(target: Path, options: InitOptions) -> InitReport:
    """Generate the integration into `target` (or, with `options.dry_run`, report what would change)."""
    from .generate import init_project as generate

    return generate(target, options)
