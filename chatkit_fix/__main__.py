"""`python -m chatkit_fix` runs the CLI."""

from .cli import run

run()
