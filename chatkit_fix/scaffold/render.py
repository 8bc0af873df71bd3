"""Rendering templates: Jinja for every file, then black for Python so output is stable."""

from __future__ import annotations

from importlib.resources import files
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import black
import jinja2

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


class TemplateError(RuntimeError):
    """A template rendered to invalid code: a bug in chatkit-fix, not in the user's project."""


def template_root() -> Traversable:
    return files("chatkit_fix") / "templates"


def make_environment() -> jinja2.Environment:
    root = template_root()

    def load(name: str) -> str:
        return root.joinpath(*PurePosixPath(name).parts).read_text(encoding="utf-8")

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_file(environment: jinja2.Environment, template: str, context: dict[str, Any], output_name: str) -> str:
    text = environment.get_template(template).render(**context)
    text = text.rstrip("\n") + "\n"
    return format_python(text, template) if output_name.endswith(".py") else text


def format_python(source: str, template: str) -> str:
    try:
        return black.format_str(source, mode=black.Mode())
    except black.InvalidInput as exc:
        raise TemplateError(f"{template} rendered invalid Python: {exc}") from exc
