"""Reference workloads the benchmark times against `chatkit-fix check`, each in one process over a whole tree.

    python benchmarks/parse_all.py libcst TREE     # libcst.parse_module on every .py file
    python benchmarks/parse_all.py ast TREE        # stdlib ast.parse on every .py file
    python benchmarks/parse_all.py scan TREE RE    # read every file's bytes and search one regex (the prefilter floor)

Prints one line: files seen, files that failed (or matched, for scan).
"""

from __future__ import annotations

import os
import re
import sys
import warnings


def files_under(tree: str, suffixes: tuple[str, ...] | None):
    for folder, dirs, names in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            if suffixes is None or name.endswith(suffixes):
                yield os.path.join(folder, name)


def main(argv: list[str]) -> int:
    mode, tree = argv[0], argv[1]
    warnings.simplefilter("ignore")  # invalid escape sequences in old site-packages code
    seen = flagged = 0
    if mode == "scan":
        pattern = re.compile(argv[2].encode())
        for path in files_under(tree, None):
            with open(path, "rb") as handle:
                data = handle.read()
            seen += 1
            flagged += pattern.search(data) is not None
        print(f"{seen} files read, {flagged} matched")
        return 0
    if mode == "libcst":
        import libcst

        def parse(data: bytes) -> None:
            libcst.parse_module(data)

        failure: tuple[type[BaseException], ...] = (libcst.ParserSyntaxError, SyntaxError, ValueError, UnicodeError)
    elif mode == "ast":
        import ast

        def parse(data: bytes) -> None:
            ast.parse(data)

        failure = (SyntaxError, ValueError, UnicodeError)
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    for path in files_under(tree, (".py", ".pyi")):
        with open(path, "rb") as handle:
            data = handle.read()
        seen += 1
        try:
            parse(data)
        except failure:
            flagged += 1
    print(f"{seen} files parsed, {flagged} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
