"""Every rule case again, its source files written with CRLF line endings, a BOM, tabs, no final newline and (Python)
a PEP 263 cookie: the rule finds the same findings, its fix is the case's fix in the file's own style, a fixed Python
module compiles and still imports (one that imported before the fix imports after it; one that failed fails no
worse), and a second pass changes nothing. Hypothesis then mixes the variants.

Fixed front-end files are type-checked in their variants by tests/test_tsx_typecheck.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from case_support.importer import Importer
from case_support.variants import (VARIANTS, comparable, decode, encode, is_python, is_source, of_file, same_code,
                                   write_case)
from chatkit_fix.testing import all_cases, check_rules, run_rules

SOURCE_CASES = [(rule, case, case_id) for rule, case, case_id in all_cases() if any(map(is_source, case.files))]
FIXING_CASES = [entry for entry in SOURCE_CASES if any(map(is_source, entry[1].expected or {}))]
# (rule, case, variant, id): a cookie only where the case has a Python file
IN_VARIANTS = [(rule, case, variant, f"{case_id}-{variant}") for rule, case, case_id in SOURCE_CASES for variant in VARIANTS
               if variant != "cookie" or any(map(is_python, case.files))]


@pytest.fixture(scope="module")
def importer():
    server = Importer()
    yield server
    server.close()


def run_in_variants(rule, case, variants: frozenset[str], root: Path, importer: Importer) -> None:
    """Write the case's source files in `variants`, check, apply, and hold the result to the case and to Python."""
    write_case(root, dict(case.files), variants)
    codes = {rule.code}

    checked = check_rules(root, codes)
    assert not checked.errors, [e.message for e in checked.errors]
    shift = 2 if "cookie" in variants else 0
    found = sorted((f.path.relative_to(root).as_posix(), f.line, f.col) for f in checked.findings if f.code == rule.code)
    wanted = sorted((e.path, e.line + (shift if is_python(e.path) else 0), e.col) for e in case.findings)
    if "tabs" in variants:  # indentation is narrower: columns move, lines do not
        found, wanted = [f[:2] for f in found], [w[:2] for w in wanted]
    assert found == wanted, f"findings in {sorted(variants)}: {found}, the case expects {wanted}"

    fixed = [name for name in (case.expected or {}) if is_python(name) and case.expected[name] != case.files[name]]
    before = importer.outcomes(root, fixed) if fixed else {}
    applied = run_rules(root, codes, unsafe=case.unsafe)
    assert not applied.errors, [e.message for e in applied.errors]

    for name in fixed:
        try:
            compile((root / name).read_bytes(), name, "exec", dont_inherit=True)
        except SyntaxError as error:
            raise AssertionError(f"{name} does not compile after apply in {sorted(variants)}: {error}") from None
    after = importer.outcomes(root, fixed) if fixed else {}
    second = run_rules(root, codes, unsafe=case.unsafe, write=False)
    still_open = {f.path.relative_to(root).as_posix() for f in second.findings if f.code == rule.code}
    for name in fixed:
        # an unsafe fix changes behaviour on purpose (a secret read from the environment raises KeyError when unset)
        # and a fix that leaves a TODO leaves the file unfinished: both are held to "breaks no name, import or syntax"
        deliberate = case.unsafe or name in still_open
        assert acceptable(before[name], after[name], deliberate), (
            f"{name} in {sorted(variants)}: imported as {before[name]!r} before the fix, {after[name]!r} after it")

    expected = dict(case.files) | dict(case.expected or {})
    for name, text in case.files.items():
        data, written = (root / name).read_bytes(), of_file(name, variants)
        if expected[name] == text:
            assert data == encode(text, written), f"{name} changed in {sorted(variants)} though the case does not"
            continue
        got, wanted = decode(data, written, text), comparable(expected[name], written)
        same = same_code(got, wanted) if "tabs" in written and is_python(name) else got == wanted
        assert same, (f"{name} after apply in {sorted(variants)}:\n{data.decode('utf-8', 'replace')}\n"
                      f"--- expected (as LF):\n{expected[name]}")
    assert not second.fixed, f"second pass in {sorted(variants)} changed {[str(f.path) for f in second.fixed]}"


BROKEN = ("NameError", "UnboundLocalError", "ImportError", "ModuleNotFoundError", "SyntaxError", "IndentationError",
          "TabError", "Timeout")


def acceptable(before: str, after: str, deliberate: bool) -> bool:
    """A fixed module imports at least as well as before: the same outcome or success; where the change of behaviour
    is deliberate, any outcome but a broken name, import or syntax."""
    if after in ("ok", before):
        return True
    return deliberate and after.split(":", 1)[0] not in BROKEN


@pytest.mark.parametrize(("rule", "case", "variant"), [entry[:3] for entry in IN_VARIANTS],
                         ids=[entry[3] for entry in IN_VARIANTS])
def test_case_in_variant(rule, case, variant, tmp_path, importer):
    run_in_variants(rule, case, frozenset([variant]), tmp_path, importer)


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=st.sampled_from(FIXING_CASES), variants=st.frozensets(st.sampled_from(VARIANTS), min_size=2))
def test_fixing_case_in_mixed_variants(entry, variants, tmp_path, importer):
    rule, case, case_id = entry
    root = tmp_path / "case"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    run_in_variants(rule, case, variants, root, importer)


# ---- the instruments themselves ------------------------------------------------------------------------------------


def test_importer_reports_what_a_broken_fix_would_leave(tmp_path, importer):
    (tmp_path / "store.py").write_text("from chatkit.store import Store\n\n\nclass S(Store):\n"
                                       "    async def load(self) -> Page:\n        raise NotImplementedError\n")
    (tmp_path / "fine.py").write_text("from config import settings\nimport litellm\n\nORIGINS = settings.cors_origins\n")
    (tmp_path / "old_mcp.py").write_text("from mcp.server.fastmcp import FastMCP\n")
    (tmp_path / "serves.py").write_text("import uvicorn\n\nuvicorn.run('serves:app', reload=True)\n")
    outcomes = importer.outcomes(tmp_path, ["store.py", "fine.py", "old_mcp.py", "serves.py"])
    assert outcomes["store.py"] == "NameError: name 'Page' is not defined"
    assert outcomes["fine.py"] == "ok"  # modules the case does not carry stand in, whatever is read from them
    assert outcomes["old_mcp.py"].startswith("ModuleNotFoundError: No module named 'mcp.server.fastmcp'")
    assert outcomes["serves.py"] == "ok"  # no server is started


@settings(max_examples=200, deadline=None)
@given(entry=st.sampled_from(SOURCE_CASES), variants=st.frozensets(st.sampled_from(VARIANTS)))
def test_variants_read_back_to_the_case_text(entry, variants):
    """decode(encode(text)) is the text: a failure of the tests above is the fix's, not the variants'."""
    for name, text in entry[1].files.items():
        written = of_file(name, variants)
        encoded = encode(text, written)
        if is_python(name) and _compiles(text.encode("utf-8"), name):
            assert _compiles(encoded, name), f"{name} in {sorted(variants)} does not compile"
        assert decode(encoded, written, text) == comparable(text, written)


def _compiles(data: bytes, name: str) -> bool:
    try:
        compile(data, name, "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True
