"""The command line: one small function per command; arguments in, exit code out (0 clean, 1 findings, 2 error)."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageFailure(click.ClickException):
    """A usage or input error: one line on stderr, exit 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"chatkit-fix: error: {self.format_message()}", err=True)


class InputPath(click.ParamType):
    """A path argument or option whose errors are one line naming it, like every other input error (click's
    own Path type prints three lines of usage)."""

    name = "path"

    def __init__(self, must_exist: bool = True, kind: str = "any"):
        self.must_exist = must_exist
        self.kind = kind  # "file", "folder" or "any"

    def convert(self, value, param, ctx) -> Path:
        import errno

        path = Path(value)
        label = f"{param.opts[0]} {value}" if param is not None and param.param_type_name == "option" else str(value)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageFailure(f"{label}: symlink loop (the link points back at itself)") from None
            if self.must_exist:
                raise UsageFailure(f"{label}: no such {'file or folder' if self.kind == 'any' else self.kind}") from None
            return path
        if self.kind == "folder" and not stat.S_ISDIR(mode):
            raise UsageFailure(f"{label}: is a file; give a folder")
        if self.kind == "file" and stat.S_ISDIR(mode):
            raise UsageFailure(f"{label}: is a folder; give a file")
        return path

    def shell_complete(self, ctx, param, incomplete: str):
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="dir" if self.kind == "folder" else "file")]


@dataclass
class CommonOptions:
    paths: tuple[str, ...]
    select: str | None
    ignore: str | None
    extend_select: str | None
    output_format: str
    exit_zero: bool
    quiet: bool
    verbose: bool
    no_color: bool
    jobs: int | None
    config: str | None


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _complete_codes(ctx, param, incomplete: str):
    """Shell completion of rule codes; for comma-separated lists, of the last item."""
    from click.shell_completion import CompletionItem

    from .rules import load_rules

    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    rules = load_rules()
    return [CompletionItem(prefix + code, help=rule.summary) for code, rule in rules.items()
            if code.startswith(last.upper())]


def common_options(func):
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=str)),
        click.option("--select", shell_complete=_complete_codes,
                     help="Comma-separated codes or prefixes to enable (e.g. CK1,CK301); default ALL."),
        click.option("--ignore", shell_complete=_complete_codes, help="Comma-separated codes or prefixes to disable."),
        click.option("--extend-select", shell_complete=_complete_codes,
                     help="Codes or prefixes added to the configured selection."),
        click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]),
                     default="text", show_default=True, help="Output format."),
        click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain."),
        click.option("--quiet", "-q", is_flag=True, help="Print only findings (no summary)."),
        click.option("--verbose", "-v", is_flag=True, help="Say which project, config and SDK facts were used."),
        click.option("--no-color", is_flag=True, help="Never colour the output (also: NO_COLOR=1)."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                     help="Worker processes for large trees (default: the CPU count)."),
        click.option("--config", type=click.Path(path_type=str), help="A pyproject.toml (or chatkit-fix.toml) to read."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


_OWN_PROCESS = False  # set by `run`: only a process of its own may end without the interpreter's teardown


def run() -> None:
    """The console script and `python -m chatkit_fix`: the CLI in a process of its own."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    main()


def _leave(code: int) -> NoReturn:
    """End a check or apply run with `code`.

    In a process of its own the interpreter's teardown is skipped: freeing every file list, survey and syntax tree
    one object at a time costs ~30 ms, a tenth of a run over a large tree, and nothing is left to do by then (files
    are written atomically before this point; no temp file or child outlives the run). Under click's test runner,
    or wherever the CLI is called as a function, a plain exit.
    """
    if not _OWN_PROCESS:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass  # a reader that went away (`| head`): what was printed is all it wanted
    os._exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "--version", prog_name="chatkit-fix")
def main() -> None:
    """Find, fix and verify the silent failures of OpenAI ChatKit integrations.

    \b
    Example:
      chatkit-fix check .            # report every rule
      chatkit-fix apply --diff .     # show the safe fixes without writing
    """


@main.command()
@common_options
@click.option("--no-cache", is_flag=True, help="Check everything again instead of replaying an unchanged tree's report.")
def check(no_cache: bool, **kwargs) -> None:
    """Report findings with file:line:col, code, message and a fix hint.

    \b
    Example:
      chatkit-fix check backend frontend --select CK2,CK3 --format github
    """
    options = CommonOptions(**kwargs)
    _leave(_run("check", options, cached=not no_cache))


@main.command()
@common_options
@click.option("--dry-run", is_flag=True, help="Compute fixes but write nothing; exit 1 when fixes are pending.")
@click.option("--diff", is_flag=True, help="Print unified diffs of the fixes and write nothing.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour a user may rely on.")
@click.option("--show-fixes", is_flag=True, help="List the findings that were fixed.")
def apply(dry_run: bool, diff: bool, unsafe_fixes: bool, show_fixes: bool, **kwargs) -> None:
    """Rewrite the broken patterns in place (safe fixes; unsafe ones with --unsafe-fixes).

    \b
    Example:
      chatkit-fix apply --diff .           # preview
      chatkit-fix apply --unsafe-fixes .   # fix, including behaviour changes
    """
    options = CommonOptions(**kwargs)
    _leave(_run("apply", options, dry_run=dry_run or diff, diff=diff, unsafe=unsafe_fixes, show_fixes=show_fixes))


def _color(no_color: bool, output_format: str) -> bool:
    if no_color or os.environ.get("NO_COLOR") or output_format != "text":
        return False
    return sys.stdout.isatty()


def _run(mode: str, options: CommonOptions, dry_run: bool = False, diff: bool = False, unsafe: bool = False,
         show_fixes: bool = False, cached: bool = False) -> int:
    from .config import ConfigError, find_project_root, load_settings
    from .output import Report, formatter
    from .project import WATCHED, PathError, Project

    paths = [Path(p) for p in options.paths] or [Path(".")]
    for path in paths:
        _require_existing(path)
    config_file = Path(options.config) if options.config else None
    try:
        root = config_file.resolve().parent if config_file else find_project_root(_common_parent(paths))
        settings = load_settings(root, config_file)
        if cached and not options.verbose:
            from .cache import make_folder

            make_folder(settings.root)
        project = Project.discover(settings.root, settings, paths)
    except (ConfigError, PathError, ValueError) as exc:
        raise UsageFailure(str(exc)) from None
    # edits are built only for what shows them: apply (which always builds), and JSON output
    needs_fixes = options.output_format == "json"
    cache = _check_cache(project, settings, options) if cached and not options.verbose else None
    result = cache.replay(project) if cache is not None else None
    if result is not None and needs_fixes and any(f.fix is not None and not f.fix.built for f in result.findings):
        result = None  # a plain check stored offers, not edits: check again, building them
    rules = None
    if result is None:
        from .engine import Engine, cpu_jobs
        from .rules import load_rules, selected_codes

        try:
            rules = load_rules()
            select = _split(options.select) or settings.select
            enabled = selected_codes(
                rules, select, settings.ignore + _split(options.ignore),
                settings.extend_select + _split(options.extend_select),
            )
        except ValueError as exc:
            raise UsageFailure(str(exc)) from None
        for language, tests in WATCHED.items():  # the byte tests analyses registered as the rules loaded
            project.watch_also(language, tests)
        bar = _progress_bar(len(project.targets), options)
        engine = Engine(project, rules, enabled, jobs=cpu_jobs(options.jobs), progress=bar, build_fixes=needs_fixes)
        if options.verbose:
            _explain_setup(project, settings, enabled)  # after the engine: it tells the scope what its rules look for
        import gc

        # Syntax trees are acyclic and live until the run ends: the cyclic collector would only re-walk them.
        gc.disable()
        try:
            try:
                result = engine.apply(unsafe=unsafe, write=not dry_run) if mode == "apply" else engine.check()
            finally:
                gc.enable()
                if bar is not None:
                    bar.close()
        except KeyboardInterrupt:
            # every file is either fully old or fully new: writes are atomic and temp files are removed on the way out
            click.echo("chatkit-fix: interrupted; files written so far are complete, the others untouched", err=True)
            return EXIT_ERROR
        if cache is not None:
            cache.store(project, result)
    if rules is None and options.output_format == "sarif":
        from .rules import load_rules

        rules = load_rules()  # SARIF describes every rule
    report = Report(
        result=result, project=project, rules=rules or {}, mode=mode, color=_color(options.no_color, options.output_format),
        quiet=options.quiet, verbose=options.verbose, show_fixes=show_fixes, unsafe=unsafe,
    )
    if diff:
        click.echo(_diffs(report), nl=False)
    if not (diff and options.output_format == "text" and not result.findings and not result.errors):
        click.echo(formatter(options.output_format)(report), nl=False)
    for link in sorted(set(project.symlink_loops)):
        click.echo(f"chatkit-fix: warning: {report.path(link)}: symlink loop, not followed", err=True)
    if options.verbose:
        for finding in result.findings:
            if finding.fix_error:
                click.echo(f"chatkit-fix: note: {report.path(finding.path)}:{finding.line}:{finding.col}: "
                           f"{finding.code}'s fix could not be built ({finding.fix_error}); reported without a fix",
                           err=True)
    if result.errors:
        return EXIT_ERROR
    pending = dry_run and any(f for f in result.fixed)
    if (result.findings or pending) and not options.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _check_cache(project, settings, options: CommonOptions):
    """The check cache of the run (see cache.py): a tree's, or one of named files (an editor, pre-commit)."""
    from .cache import CheckCache, context_key

    selection = [options.select or "", options.ignore or "", options.extend_select or ""]
    return CheckCache(project.root, context_key(settings, selection, project.asked))


def _require_existing(path: Path) -> None:
    """A path given on the command line must exist: else one line saying why (missing, or a symlink loop), exit 2."""
    import errno

    try:
        path.stat()
    except OSError as exc:
        reason = "symlink loop (the link points back at itself)" if exc.errno == errno.ELOOP else "no such file or folder"
        raise UsageFailure(f"{path}: {reason}") from None


def _progress_bar(total_files: int, options: CommonOptions):
    """A bar on stderr for a long run on a terminal (never with --quiet or a machine format), else None."""
    from .output import progress

    if not progress.wanted(total_files, options.output_format, options.quiet, sys.stderr):
        return None
    return progress.ProgressBar(sys.stderr)


def _common_parent(paths: list[Path]) -> Path:
    resolved = [p.resolve() for p in paths]
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return common


def _explain_setup(project, settings, enabled) -> None:
    click.echo(f"project root: {project.root}", err=True)
    click.echo(f"config: {settings.config_path or '(none)'}", err=True)
    click.echo(f"files: {len(project.files)} discovered, {len(project.targets)} targeted", err=True)
    in_scope, python = len(project.files_of("python")), len(project.all_files_of("python"))
    click.echo(f"python: {in_scope} of {python} files in application code (see README, 'Fast')", err=True)
    click.echo(f"rules: {len(enabled)} enabled", err=True)
    from . import versions
    from .sdk import chatkit_facts

    click.echo(f"chatkit SDK: {chatkit_facts()['origin']}", err=True)
    # per package, the version the rules judge by and where it came from; one line per service when they differ
    for _distribution, judged in versions.service_judgements(project, versions.judged_packages()):
        for verdict in judged:
            click.echo(f"version: {verdict.describe()}", err=True)


def _diffs(report) -> str:
    """Unified diffs of the fixes, named relative to the project root (where `git apply` takes them)."""
    import difflib

    chunks = []
    for fixed in sorted(report.result.fixed, key=lambda f: str(f.path)):
        name = report.project_path(fixed.path)
        chunks.extend(
            difflib.unified_diff(
                fixed.before.text.splitlines(keepends=True),
                fixed.after_text.splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )
    text = "".join(chunks)
    return text if not text or text.endswith("\n") else text + "\n"


@main.command()
@click.argument("directory", default=".", type=InputPath(must_exist=False, kind="folder"))
@click.option("--backend-dir", default="backend", show_default=True, help="Where the FastAPI back end goes.")
@click.option("--frontend-dir", default=None, help="Where the front end is (default: the detected app, else frontend).")
@click.option("--framework", type=click.Choice(["next", "vite", "none"]), default=None,
              help="Front-end framework (default: next when a Next app is found).")
@click.option("--store", type=click.Choice(["sqlite", "postgres", "memory"]), default="sqlite", show_default=True,
              help="Thread store: SQLite file, PostgreSQL via DATABASE_URL, or memory for demos.")
@click.option("--auth", type=click.Choice(["jwt", "none"]), default="jwt", show_default=True,
              help="Bearer JWT verified on every request, or none for open demos.")
@click.option("--mcp/--no-mcp", default=True, show_default=True, help="Generate an MCP tool server and use it.")
@click.option("--model", default="gpt-4.1", show_default=True, help="Default model (CHATKIT_MODEL overrides it).")
@click.option("--dry-run", is_flag=True, help="Print the plan and diffs; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite edited files, keeping a .orig copy.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def init(directory: Path, backend_dir: str, frontend_dir: str | None, framework: str | None, store: str, auth: str,
         mcp: bool, model: str, dry_run: bool, force: bool, output_format: str) -> None:
    """Generate a complete ChatKit integration, or merge the missing parts into an existing project.

    Files you edited since they were generated are never overwritten (see .chatkit-fix.lock.json).

    \b
    Example:
      chatkit-fix init my-app --store postgres --framework vite
      chatkit-fix init . --dry-run
    """
    import json

    from .scaffold import InitOptions, ScaffoldError, init_project

    options = InitOptions(backend_dir=backend_dir, frontend_dir=frontend_dir, framework=framework, store=store,
                          auth=auth, mcp=mcp, model=model, dry_run=dry_run, force=force)
    try:
        report = init_project(directory, options)
    except ScaffoldError as exc:
        raise UsageFailure(str(exc)) from None
    if output_format == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.to_text(), nl=False)
    pending = dry_run and bool(report.changed)
    sys.exit(EXIT_FINDINGS if pending or report.skipped_edited or report.needs_merge else EXIT_CLEAN)


@main.command()
@click.argument("path", default=".", type=InputPath(kind="folder"))
@click.option("--app", "app", metavar="MODULE:ATTR",
              help="The ASGI app to boot (default: backend.app in the config, else the FastAPI app whose route "
                   "calls ChatKitServer.process).")
@click.option("--app-dir", type=InputPath(kind="folder"),
              help="Folder uvicorn starts in (default: the parent of the app's top package).")
@click.option("--mcp-app", metavar="MODULE:ATTR", help="The MCP tool server to boot (default: backend.mcp-app, "
                                                       "else detected).")
@click.option("--no-mcp", is_flag=True, help="Do not start an MCP tool server.")
@click.option("--python", "python", metavar="PATH",
              help="Interpreter of the project's environment (default: the one running chatkit-fix).")
@click.option("--path", "endpoint_path", metavar="PATH", help="The ChatKit endpoint's path (default: detected).")
@click.option("--jwt-secret", envvar="CHATKIT_FIX_JWT_SECRET", metavar="SECRET",
              help="HS256 secret to sign test tokens with (default: the project's env or .env; generated and "
                   "passed to the app when only the variable is known). Also CHATKIT_FIX_JWT_SECRET.")
@click.option("--jwt-secret-env", metavar="NAME",
              help="The variable the app reads its JWT secret from (default: the one its token check reads, found by "
                   "following jwt.decode's key); the secret is written to it and to no other variable.")
@click.option("--jwt-claim", "jwt_claims", multiple=True, metavar="KEY=VALUE",
              help="Extra claim for the test tokens (repeatable; JSON values allowed), e.g. aud=my-api.")
@click.option("--origin", metavar="URL", help="Front-end origin for the CORS check (default: configured origins).")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE", help="Extra environment for the servers (repeatable).")
@click.option("--fake-script", type=InputPath(kind="file"),
              help='JSON script of the fake OpenAI API, e.g. {"reply": "Hi {last_user_text}", "tool_call": "never"}.')
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds allowed for each step (start-up, each request, each stream).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--keep-logs", is_flag=True, help="Keep the servers' logs and print where.")
@click.option("--no-color", is_flag=True, help="Never colour the output (also: NO_COLOR=1).")
@click.option("--verbose", "-v", is_flag=True, help="Report each step on stderr as it happens.")
@click.option("--config", type=InputPath(kind="file"),
              help="A pyproject.toml (or chatkit-fix.toml) to read.")
@click.option("--browser", is_flag=True,
              help="Then start the front end and check the widget in headless Chromium (Playwright).")
@click.option("--frontend-url", metavar="URL", help="With --browser: a front end already running (default: start "
                                                    "the project's own with its dev script).")
@click.option("--frontend-build", is_flag=True, help="With --browser: build the front end and run its production "
                                                     "server instead of the dev script.")
@click.option("--page", metavar="PATH", help="With --browser: the page to open (default: the page that mounts ChatKit).")
@click.option("--storage-state", type=InputPath(kind="file"),
              help="With --browser: Playwright's saved cookies and localStorage of a signed-in session "
                   "(playwright codegen --save-storage FILE URL).")
@click.option("--token", metavar="TOKEN", help="With --browser: the access token to give the front end (default: one "
                                              "signed with the back end's JWT secret).")
@click.option("--token-key", metavar="[localStorage:|sessionStorage:|cookie:]KEY",
              help="With --browser: where the front end reads its token (default: found in its token getter).")
@click.option("--screenshot", type=click.Path(dir_okay=False, path_type=Path),
              help="With --browser: save a PNG of the widget.")
@click.option("--cdn-stub", is_flag=True, help="With --browser: serve a local stand-in of chatkit.js (no internet); "
                                               "only the wiring is proven then.")
@click.option("--click", multiple=True, metavar="SELECTOR",
              help="With --browser: click this before checking the widget (a launcher button; repeatable).")
def verify(path: Path, **kwargs) -> None:
    """Boot the back end with a fake OpenAI API and check the ChatKit protocol end to end.

    Starts the app (and its MCP tool server) with uvicorn on 127.0.0.1, pointed at a local fake of the OpenAI
    Responses API (no key needed), then checks streaming, the thread requests, auth, CORS and persistence. With
    --browser it then starts the front end and checks the widget in headless Chromium: chatkit.js, mounting, size,
    the token and headers on ChatKit's requests, CORS, a message answered, a reload, the theme. Each failure names
    the rules that explain it. Exit 0 all passed, 1 a check failed, 2 a usage or setup error.

    \b
    Example:
      chatkit-fix verify .
      chatkit-fix verify --python .venv/bin/python --format json backend
      chatkit-fix verify --browser --cdn-stub --screenshot widget.png .
    """
    from .verify.command import CommandOptions, run

    sys.exit(run(CommandOptions(path=path, **kwargs)))


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, slug, fix safety and a one-line summary.

    \b
    Example:
      chatkit-fix rules --format json
    """
    import json

    from .rules import describe, load_rules

    rules = load_rules()
    if output_format == "json":
        click.echo(json.dumps([describe(rule) for rule in rules.values()], indent=2))
        return
    width = max((len(rule.slug) for rule in rules.values()), default=10)
    for rule in rules.values():
        click.echo(f"{rule.code}  {rule.slug:<{width}}  {rule.safety.value:<6}  {rule.summary}")


@main.command()
@click.argument("code", shell_complete=_complete_codes)
def explain(code: str) -> None:
    """Print a rule's page: why it matters, wrong and right code, and the upstream link.

    \b
    Example:
      chatkit-fix explain CK202
    """
    from .docs import rule_page
    from .rules import load_rules

    rules = load_rules()
    found = rules.get(code.upper()) or next((r for r in rules.values() if r.slug == code), None)
    if found is None:
        raise UsageFailure(f"unknown rule {code!r}; `chatkit-fix rules` lists them")
    click.echo(rule_page(found), nl=False)  # the page ends with a newline, as docs/rules/CKnnn.md does


if __name__ == "__main__":  # pragma: no cover
    main()
