"""Secrets written in the source: OpenAI `sk-…` keys, JWT and app secrets, literal defaults of secret variables.

## Why
Whatever is in the repository is readable by everyone who can read the repository, its forks and its build
artefacts, forever (the history keeps it after the line is deleted). An `sk-…` key in the source bills your account
for anyone who finds it; in front-end code it ships to every visitor's browser. A literal JWT secret (or the literal
default of `os.getenv("JWT_SECRET", "dev-secret")`) means any deployment that forgets to set the variable signs its
tokens with a secret everyone knows, so anyone can mint a token for any user. The code keeps working, so nobody
notices.

The rule reads secret-named variables, settings fields (`Field(default=...)` too), keyword arguments and
`env["X_SECRET"] = ...`; literal defaults of `os.getenv` (`, "dev-secret"`, `or "dev-secret"`, and a variable read from
a secret's environment variable that is given a literal when it is empty); and credentials of a known format wherever
they are written, each named for what it is (an OpenAI, Anthropic, Langfuse, ElevenLabs, Stripe or TwelveLabs key, a
Supabase service-role key, ...).

Not reported: `domain_pk_…` ChatKit domain keys and other keys published by design (a Supabase anon key, a Langfuse
public key), placeholders (`[[vault_reference]]`, `<your-key>`, `changeme`, `mock`, `sk-test-key`, `example` values,
alphabet runs, an enum member named like its value), environment variable *names*, sentinels a check searches for
(`assert SENTINEL not in bundle`), and dummy values under test folders. In a script that is not part of the
application (a `__main__` script importing no web or auth package, a `test_*.py` outside the test folders) only
values no person chose are reported: a real key there still bills someone, a throwaway password protects nothing.
An empty secret is CK404.

## Wrong
```python
JWT_SECRET = "dev-secret-key-change-in-production"
BETTER_AUTH_SECRET = os.getenv("BETTER_AUTH_SECRET", "default_secret_key")
client = OpenAI(api_key="sk-proj-...")
```

## Right
```python
JWT_SECRET = os.environ["JWT_SECRET"]  # a missing variable stops the start-up instead of opening the door
BETTER_AUTH_SECRET = os.environ["BETTER_AUTH_SECRET"]
client = OpenAI()  # reads OPENAI_API_KEY
```
In a pydantic `BaseSettings` class the fix removes the default, which makes the field required. The fix is unsafe
(`--unsafe-fixes`): the variable must now be set wherever the code runs. Rotate any key that was committed.
Keys in front-end code are reported (move the call to the back end), and so are keys in Node scripts, which are
not shipped to browsers but are still readable by everyone who can read the repository.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from functools import partial

from chatkit_fix.analysis import secrets, web
from chatkit_fix.codemods._cases import Edited, in_service, served
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import is_main_guard, walk
from chatkit_fix.rules import Invalid, Valid, rule

# The prefilter: a secret-like name given a string literal (assignment, annotation, subscript, keyword, pydantic
# Field, getenv default or `or` fallback), a literal key handed to jwt, or a credential of a known format anywhere. A
# superset of what the checks below report, and far narrower than the words "secret" or "token", which ordinary code
# is full of.
CREDENTIAL_LITERAL = re.compile(rb"""["'`](?:sk-|sk_|[sr]k_live_|tlk_|gsk_|gh[pousr]_|xox[abprs]-|AIza|eyJ)[A-Za-z0-9_\-]{16,}""")
# A secret-like name given a literal or a Field(...), a getenv default or `or` fallback: searched in the lower-cased
# bytes, where the patterns need no IGNORECASE (a case-insensitive alternation is tried at every position: four times
# slower over a large tree, and the prefilter runs on every file).
NAMED_LITERAL = re.compile(
    rb"(secret|passw|key|token)\w*(?:[\"']?\]?\s*(:[^=\n]{0,60})?=\s*[rbuf]{0,2}[\"'`][^\"'`\s]"
    rb"|\s*:[^=\n]{0,60}=\s*(\w+\.)?field\()"
)
ENV_DEFAULT = re.compile(
    rb"(getenv|environ\.get|setdefault)\((?:\s*[\"'][^\"']*[\"']\s*,\s*[rbuf]{0,2}[\"']|[^)]*\)\s*or\s*[rbuf]{0,2}[\"'])"
)


def _named_literal_or_env_default(data: bytes) -> bool:
    lowered = data.lower()
    return NAMED_LITERAL.search(lowered) is not None or ENV_DEFAULT.search(lowered) is not None


SECRET_LITERALS = (
    _named_literal_or_env_default,
    # a key handed to encode/decode; a codec's error handler (`.decode("utf-8", "replace")`) is not one
    re.compile(rb"(?i)\.(en|de)code\([^,)]*,\s*[rbuf]{0,2}[\"'](?!(strict|replace|ignore|surrogate\w*|\w+replace)[\"'])"),
    CREDENTIAL_LITERAL,
)

RULE = rule(
    code="CK409",
    slug="hardcoded-secret",
    safety=Safety.UNSAFE,
    summary="sk-… keys, JWT/app secrets and literal secret defaults in source",
    url="https://platform.openai.com/docs/guides/production-best-practices#api-keys",
    languages=("python", "tsx"),
    triggers=SECRET_LITERALS,
    language_triggers={"tsx": (CREDENTIAL_LITERAL,)},  # front-end and Node code is checked for credentials of known formats
    module=__name__,
    explanation=__doc__,
)

# the packages of an application (a web app, its auth): a module importing none of them and run as a script is not one
APPLICATION_PACKAGES = ("fastapi", "starlette", "flask", "django", "chatkit", "agents", "jwt", "jose", "pydantic_settings")
# calls that look for a value in a text: a key literal given to them is a pattern, not a credential in use
SEARCHES = {"find", "index", "count", "search", "match", "fullmatch", "findall", "startswith", "endswith", "replace", "split", "contains"}


@RULE.check
def check(ctx):
    if web.under_tests(ctx.project, ctx.path):
        return
    if ctx.language == "tsx":
        yield from _check_frontend(ctx)
    elif ctx.language == "python":
        yield from _check_python(ctx)


# ---- JavaScript and TypeScript -----------------------------------------------------------------------------------

NODE_SCRIPT = re.compile(r"^#!.*\bnode\b|\brequire\(\s*['\"](fs|path|child_process|os)['\"]\)|from\s+['\"]node:|\bprocess\.argv\b", re.MULTILINE)
SCRIPT_FOLDER = re.compile(r"(^|/)(scripts?|bin|tools|server)/")


def _check_frontend(ctx):
    browser = _runs_in_browser(ctx)
    for node in [*ctx.root.find_all(kind="string"), *ctx.root.find_all(kind="template_string")]:
        value = node.text()[1:-1]
        found = secrets.credential(value)
        if found is None or not found.secret or secrets.placeholder(value):
            continue
        if browser:
            yield ctx.finding(node, f"{found.what} is written in front-end code: it ships to every visitor's browser",
                              hint=f"call the API from the back end with {found.env} from its environment, and rotate this key")
        else:
            yield ctx.finding(node, f"{found.what} is written in a Node script: anyone who can read the repository can use it",
                              hint=f"read it from process.env.{found.env}, and rotate this key")


def _runs_in_browser(ctx) -> bool:
    """Code a page bundles, not a Node script, server route or build configuration."""
    relative = ctx.project.relative(ctx.path)
    if web.SERVER_SIDE.search(relative) or SCRIPT_FOLDER.search(relative) or ctx.path.suffix in (".cjs", ".mjs"):
        return False
    return not NODE_SCRIPT.search(ctx.text) and '"use server"' not in ctx.text[:200] and "'use server'" not in ctx.text[:200]


# ---- Python ------------------------------------------------------------------------------------------------------


def _check_python(ctx):
    script = _standalone_script(ctx)
    reported: set[int] = set()
    for node in walk(ctx.tree):
        found = None
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            found = _assignment(ctx, node, script)
        elif isinstance(node, ast.Call):
            found = _call(ctx, node, script)
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            found = _or_fallback(ctx, node)
        if found is not None and id(found[0]) not in reported:
            reported.add(id(found[0]))
            yield found[1]
    for literal, finding in _branch_fallbacks(ctx):
        if id(literal) not in reported:
            reported.add(id(literal))
            yield finding
    for node in walk(ctx.tree):
        value = web.string_value(node)
        if value is None or id(node) in reported:
            continue
        found = secrets.credential(value)
        if found is None or not found.secret or found is secrets.SIGNED_TOKEN or secrets.placeholder(value):
            continue
        if _fragment_or_docstring(ctx, node) or _only_compared(ctx, node):
            continue
        reported.add(id(node))
        yield ctx.finding(node, f"{found.what} is written in the source: anyone who can read the code can use it",
                          fix=partial(_environ, ctx, node, found.env),
                          hint=f'read it from the environment (os.environ["{found.env}"]) and rotate this key')


def _standalone_script(ctx) -> bool:
    """A test script outside the test folders (`test_*.py` at the root), or a script run on its own (a `__main__`
    guard or a shebang) that imports no application package: a throwaway password or a test value there protects
    nothing the application serves; a real key still bills someone."""
    if ctx.path.name.startswith("test_") or ctx.path.name.endswith("_test.py"):
        return True
    runs = ctx.text.startswith("#!") or any(is_main_guard(s) for s in ctx.tree.body)
    return runs and not any(ctx.imports.imports_package(p) for p in APPLICATION_PACKAGES)


def _reportable(kind: str, value: str, name: str, script: bool) -> bool:
    if not secrets.is_secret_value(kind, value, name):
        return False
    return not script or secrets.credential(value) is not None or secrets.machine_generated(value)


def _what(kind: str, value: str) -> str:
    found = secrets.credential(value)
    if found is not None and found is not secrets.SIGNED_TOKEN:
        return found.what
    return "an API key" if kind == "key" else "a secret"


def _env_for(name: str, value: str) -> str:
    """The variable the value moves to: the name's own, or the key's conventional one when the name says nothing
    more than `API_KEY`."""
    found = secrets.credential(value)
    tokens = secrets.name_tokens(name)
    if found is not None and found.env not in ("API_KEY", "TOKEN") and tokens in (["API", "KEY"], ["APIKEY"], ["KEY"], ["TOKEN"], ["SECRET"]):
        return found.env
    return secrets.env_name(name)


def _environ(ctx, node: ast.AST, name: str):
    expression, imports = web.environ_lookup(ctx, name)
    return [*imports, ctx.replace(node, expression)]


def _target_name(target: ast.AST) -> str | None:
    """`NAME`, `self.name`, or the key of `env["NAME"] = ...`."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return web.string_value(target.slice)
    return None


def _field_default(ctx, value: ast.AST) -> ast.AST | None:
    """The default of a pydantic `Field(default=...)` / `Field("...")`."""
    if isinstance(value, ast.Call) and (ctx.refers_to(value.func, "pydantic", "Field") or web.last_name(value.func) == "Field"):
        return web.argument(value, 0, "default")
    return None


def _assignment(ctx, statement, script: bool):
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    if len(targets) != 1:
        return None
    name = _target_name(targets[0])
    holder = ctx.parents.get(statement)
    if name is None or (isinstance(holder, ast.ClassDef) and _is_enum(ctx, holder)):
        return None
    field = _field_default(ctx, statement.value) if isinstance(holder, ast.ClassDef) else None
    literal = field if field is not None else statement.value
    value = web.string_value(literal)
    kind = secrets.secret_kind(name)
    if kind is None or value is None or not _reportable(kind, value, name, script):
        return None
    env = _env_for(name, value)
    message = f"{name} is {_what(kind, value)} written in the source: anyone who can read the code can use it"
    settings = isinstance(holder, ast.ClassDef) and isinstance(statement, ast.AnnAssign) and _is_settings_class(ctx, holder)
    if settings and field is not None:
        return literal, ctx.finding(literal, message, fix=partial(_drop_field_default, ctx, statement, literal),
                                    hint=f"drop the default: the settings class then requires {env} from the environment")
    if settings:
        start = ctx.span(statement.annotation)[1]
        end = ctx.span(statement.value)[1]
        return literal, ctx.finding(literal, message, fix=ctx.replace((start, end), ""),
                                    hint=f"drop the default: the settings class then requires {env} from the environment")
    if field is not None:
        return literal, ctx.finding(literal, message, hint=f"drop the default and read it from the environment ({env})")
    return literal, ctx.finding(literal, message, fix=partial(_environ, ctx, literal, env), hint=f'read it from the environment: os.environ["{env}"]')


def _drop_field_default(ctx, statement: ast.AnnAssign, literal: ast.AST):
    call = statement.value
    if len(call.args) + len(call.keywords) == 1:  # `= Field(default="...")`: the field becomes a plain required one
        return ctx.replace((ctx.span(statement.annotation)[1], ctx.span(call)[1]), "")
    if call.args and call.args[0] is literal:
        return ctx.replace(literal, "...")  # `Field("...", description=...)`: `...` marks it required
    return web.remove_argument(ctx, call, next(k for k in call.keywords if k.value is literal))


def _is_enum(ctx, cls: ast.ClassDef) -> bool:
    return any(web.last_name(base).endswith("Enum") or ctx.refers_to(base, "enum", "Enum") for base in cls.bases)


def _is_settings_class(ctx, cls: ast.ClassDef) -> bool:
    """A pydantic settings class that reads each field from the variable of the same name (no env_prefix)."""
    if "env_prefix" in ctx.segment(cls):
        return False
    return any(
        ctx.refers_to(base, "pydantic_settings", "BaseSettings") or ctx.refers_to(base, "pydantic", "BaseSettings")
        or web.last_name(base).endswith("Settings")
        for base in cls.bases
    )


def _call(ctx, call: ast.Call, script: bool):
    env = web.getenv_call(ctx, call)
    if env is not None:
        variable, default = env
        value = web.string_value(default)
        if value is None or not variable:
            return None
        kind = secrets.secret_kind(variable) or secrets.secret_kind(_assigned_name(ctx, call))
        if kind is None or not _reportable(kind, value, variable, script):
            return None
        message = (f"{variable} falls back to a literal secret when the variable is not set: such a deployment runs "
                   "with a secret everyone can read")
        parent = ctx.parents.get(call)
        holder = ctx.parents.get(parent)
        if isinstance(parent, ast.AnnAssign) and parent.value is call and isinstance(holder, ast.ClassDef) and _is_settings_class(ctx, holder):
            start, end = ctx.span(parent.annotation)[1], ctx.span(call)[1]
            return default, ctx.finding(default, message, fix=ctx.replace((start, end), ""),
                                        hint="drop the default: the settings class then requires it from the environment")
        return default, ctx.finding(
            default, message, fix=partial(_environ, ctx, call, variable),
            hint=f'use os.environ["{variable}"], so a missing variable stops the start-up',
        )
    if web.jwt_library(ctx, call) or web.jwt_library(ctx, call, web.JWT_ENCODE):
        key = web.argument(call, 1, "key")
        value = web.string_value(key)
        if value and not secrets.placeholder(value):
            return key, ctx.finding(key, f"{web.dotted(call.func)}() signs or checks tokens with a literal key: anyone can mint tokens",
                                    fix=partial(_environ, ctx, key, "JWT_SECRET"), hint='use os.environ["JWT_SECRET"]')
        return None
    for keyword in call.keywords:
        kind = secrets.secret_kind(keyword.arg)
        value = web.string_value(keyword.value)
        if kind is None or value is None or secrets.is_password(keyword.arg):
            continue
        if _reportable(kind, value, keyword.arg, script):
            env = _env_for(keyword.arg, value)
            return keyword.value, ctx.finding(
                keyword.value, f"{keyword.arg}= is given {_what(kind, value)} written in the source",
                fix=partial(_environ, ctx, keyword.value, env), hint=f'read it from the environment: os.environ["{env}"]',
            )
    return None


def _secret_variable(ctx, expr: ast.AST) -> str | None:
    """The secret-named environment variable an expression reads (`os.getenv("JWT_SECRET", "")`, `... or ...`)."""
    for node in walk(expr):
        env = web.getenv_call(ctx, node)
        if env is not None and env[0] and secrets.secret_kind(env[0]):
            return env[0]
    return None


def _or_fallback(ctx, node: ast.BoolOp):
    """`os.getenv("JWT_SECRET") or "dev-secret"`."""
    last = node.values[-1]
    value = web.string_value(last)
    variable = next((v for v in map(lambda e: _secret_variable(ctx, e), node.values[:-1]) if v), None)
    if value is None or variable is None or not secrets.is_secret_value(secrets.secret_kind(variable), value, variable):
        return None
    return last, ctx.finding(last, f"{variable} falls back to the literal {value!r} when it is not set: such a deployment "
                                   "runs with a secret everyone can read",
                             hint=f"fail when {variable} is not set instead of using a default")


def _branch_fallbacks(ctx):
    """`sec = os.getenv("X_SECRET", "") ...; if not sec: sec = "dev-secret"`: the variable read from a secret's
    environment variable is given a literal when that is empty (both assignments in one function, or both at module
    level)."""
    if "getenv" not in ctx.text and "environ" not in ctx.text:
        return  # no environment read, so no variable read from one (an aliased import still names it)
    by_name: dict[str, list[ast.Assign]] = {}
    for node in walk(ctx.tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            by_name.setdefault(node.targets[0].id, []).append(node)
    for name, named in by_name.items():
        if len(named) < 2 or all(web.string_value(s.value) is None for s in named):
            continue  # a literal and another value are needed: the scopes are looked up only then
        by_scope: dict[int, list[ast.Assign]] = {}
        for statement in named:
            scope = _scope_of(ctx, statement)
            if scope is not None:
                by_scope.setdefault(id(scope), []).append(statement)
        for statements in by_scope.values():
            if len(statements) < 2:
                continue
            variable = next((v for v in (_secret_variable(ctx, s.value) for s in statements) if v), None)
            if variable is None:
                continue
            for statement in statements:
                value = web.string_value(statement.value)
                if value is None or not secrets.is_secret_value(secrets.secret_kind(variable), value, variable):
                    continue
                message = (f"{name} falls back to the literal {value!r} when {variable} is not set: such a "
                           "deployment signs with a secret everyone can read")
                fix = None
                if isinstance(ctx.parents.get(statement), ast.If) and web.alone_on_lines(ctx, statement):
                    fix = ctx.replace(statement, f"raise RuntimeError({ctx.string_literal(variable + ' is not set')})")
                yield statement.value, ctx.finding(statement.value, message, fix=fix,
                                                   hint=f"fail when {variable} is not set instead of using a default")


def _scope_of(ctx, node: ast.AST) -> ast.AST | None:
    """The function (or module) whose body binds `node`'s name; None in a class body or a lambda."""
    parent = ctx.parents.get(node)
    while parent is not None and not isinstance(parent, (*web.SCOPES, ast.Module)):
        parent = ctx.parents.get(parent)
    return parent if isinstance(parent, (*web.FUNCTIONS, ast.Module)) else None


def _assigned_name(ctx, call: ast.Call) -> str | None:
    parent = ctx.parents.get(call)
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
        return _target_name(parent.targets[0])
    if isinstance(parent, ast.AnnAssign):
        return getattr(parent.target, "id", None)
    return None


def _fragment_or_docstring(ctx, node: ast.AST) -> bool:
    parent = ctx.parents.get(node)
    return isinstance(parent, (ast.JoinedStr, ast.Expr))


def _only_compared(ctx, node: ast.AST) -> bool:
    """A key literal used as a pattern: compared, asserted absent, searched for (`assert SENTINEL not in bundle`),
    directly or through the name it is assigned to; never a credential in use."""
    if _in_test(ctx, node):
        return True
    holder = ctx.parents.get(node)
    while isinstance(holder, (ast.List, ast.Tuple, ast.Set)):
        holder = ctx.parents.get(holder)
    if isinstance(holder, ast.Assign) and len(holder.targets) == 1 and isinstance(holder.targets[0], ast.Name):
        name = holder.targets[0].id
        uses = [n for n in walk(ctx.tree) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
        return bool(uses) and all(_in_test(ctx, use) or _iterated_into_tests(ctx, use) for use in uses)
    return False


def _in_test(ctx, node: ast.AST) -> bool:
    current, child = ctx.parents.get(node), node
    while current is not None and not isinstance(current, ast.stmt):
        if isinstance(current, ast.Compare):
            return True
        if isinstance(current, ast.Call) and web.last_name(current.func) in SEARCHES and child is not current.func:
            return True
        child, current = current, ctx.parents.get(current)
    return isinstance(current, ast.Assert)


def _iterated_into_tests(ctx, use: ast.AST) -> bool:
    """`for pattern in SENTINELS: if pattern in text: ...`: the loop variable is only compared."""
    loop = ctx.parents.get(use)
    if not isinstance(loop, (ast.For, ast.comprehension)) or loop.iter is not use or not isinstance(loop.target, ast.Name):
        return False
    scope = ctx.parents.get(loop) if isinstance(loop, ast.comprehension) else loop
    uses = [n for n in walk(scope) if isinstance(n, ast.Name) and n.id == loop.target.id and isinstance(n.ctx, ast.Load)]
    return bool(uses) and all(_in_test(ctx, u) for u in uses)


FAKE_KEY = "sk-proj-4f9Qz7LmT2xV8bN1cR6yH3kW0pJ5sD9aE2gU7iO4"
SERVICE_ROLE_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6InF3eHl6cHJvamVjdCIsInJvbGUiOiJzZXJ2aWNlX3JvbGUi"
    "LCJpYXQiOjE3MDAwMDAwMDB9.Q7m2Xv9LpR4tKd8sWn3ZyB6cH1fJg5Ta0Ue"
)
APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def _beside_app(case):
    """`case` in a repository that serves a FastAPI app: its files are application code (see chatkit_fix.scope),
    whatever they import themselves."""
    return in_service(replace(case, files={**case.files, "main.py": APP}))


ANON_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6InF3eHl6cHJvamVjdCIsInJvbGUiOiJhbm9uIiwiaWF0Ij"
    "oxNzAwMDAwMDAwfQ.Z8n3Yw1MqS5uLe9tXo4AzC7dI2gKh6Ub1Vf"
)

RULE.cases(
    valid=[
        Valid('import os\nJWT_SECRET = os.environ["JWT_SECRET"]\nOPENAI_API_KEY = os.getenv("OPENAI_API_KEY")\n', filename="config.py"),
        Valid(
            'def redact(user, password):\n    if password is None:\n        password = ""\n    else:\n        password = ":****"\n'
            '    secret = ", secret unknown (pass --jwt-secret)"\n    return user + password + secret\n',
            filename="redact.py",
            name="masks and messages are not secrets",
        ),
        Valid(
            'DOMAIN_KEY = "domain_pk_68f1b0a3c2d94e8fb1a2c3d4e5f60718"\nSECRET_KEY_ENV = "JWT_SECRET"\n'
            'OPENAI_API_KEY = "sk-test-key"\nAPI_KEY = "your-api-key-here"\nJWT_ALGORITHM = "HS256"\n',
            filename="settings.py",
            name="domain key, env var name, placeholders",
        ),
        Valid(f'import jwt\nSECRET = "test-secret"\nAPI_KEY = "{FAKE_KEY}"\n', filename="tests/test_auth.py", name="dummy keys under tests"),
        Valid(
            'export const config = { domainKey: "domain_pk_68f1b0a3c2d94e8fb1a2c3d4e5f60718", apiKey: "sk-test-key" };\n',
            filename="frontend/src/lib/config.ts",
            name="front end: domain key and placeholder",
        ),
        _beside_app(Valid(
            "from enum import Enum\n\n\nclass LoginMethod(str, Enum):\n    PASSWORD = \"password\"\n    TOKEN = \"token\"\n\n\n"
            "class MailStep(Step):\n    smtp_password: str = \"[[smtp_password]]\"\n\n\n"
            "step = WebhookStep(access_token=\"[[crm_access_token]]\", signing_secret=\"{{secrets.crm}}\")\n"
            "keyring.add(label=\"chat-bot\", secret=\"5550001111:AbCdEfGhIjKlMnOpQrStUv\")\n"
            "keyring.add(label=\"llm\", secret=\"sk-proj-your-example-key-goes-here\")\n",
            filename="flows/steps.py",
            name="vault references, enum values and sample values are not secrets",
        )),
        _beside_app(Valid(
            "import os\n\nos.environ[\"SESSION_SECRET\"] = \"mock-session-secret\"\n"
            "config = AppConfig(stripe_api_key=\"mock\", session_secret=\"fake\")\n",
            filename="try_config.py",
            name="mock values",
        )),
        _beside_app(Valid(
            "import sys\nimport zipfile\n\n\n"
            "def unpack(path, password):\n    with zipfile.ZipFile(path) as archive:\n        archive.extractall(pwd=password.encode())\n\n\n"
            "if __name__ == \"__main__\":\n    password = \"backup-pass-2024\"\n    unpack(sys.argv[1], password)\n",
            filename="unpack_backup.py",
            name="a throwaway password in a standalone script",
        )),
        _beside_app(Valid(
            "import os\n\nos.environ.setdefault(\"WEBHOOK_SECRET\", \"test-secret-for-the-webhook-flow\")\n\n"
            "from app.main import app\n",
            filename="test_webhook_flow.py",
            name="a test value in a root-level test script",
        )),
        _beside_app(Valid(
            "from pathlib import Path\n\nSENTINEL = \"sk-live-7Hq2Lm9Vx4Rt8Kw3Zp6Nb1Cy5\"\n"
            "FORBIDDEN = [\"sk-proj-9Zr4Kt7Wm2Qx8Lp5Vn3Bc6Hy1\", \"sk-lf-0a1b2c3d-9f8e-4d7c-8b6a-5e4f3a2b1c0d\"]\n\n\n"
            "def check(bundle: Path) -> None:\n    text = bundle.read_text()\n    assert SENTINEL not in text\n"
            "    for pattern in FORBIDDEN:\n        if pattern in text:\n            raise SystemExit(f\"secret in {bundle}\")\n",
            filename="scripts/release_check.py",
            name="sentinels a release check looks for are patterns, not credentials",
        )),
        _beside_app(Valid(
            "import os\n\n\ndef session_key():\n    key = os.getenv(\"SESSION_SECRET\", \"\")\n    return key.encode()\n\n\n"
            "def log_label():\n    key = \"session-label-for-logs\"\n    return key\n",
            filename="backend/app/sessions.py",
            name="a name read from a secret's variable in one function and given a literal in another: two variables",
        )),
        _beside_app(Valid(
            f'LANGFUSE_PUBLIC_KEY = "pk-lf-0a1b2c3d-9f8e-4d7c-8b6a-5e4f3a2b1c0d"\nSUPABASE_ANON_KEY = "{ANON_JWT}"\n',
            filename="backend/config.py",
            name="published keys: a Langfuse public key, a Supabase anon key",
        )),
    ],
    invalid=[
        served(Edited(
            "from pydantic import Field\nfrom pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n"
            '    jwt_secret: str = Field(default="unset-jwt-secret-for-local-runs")\n'
            '    session_secret: str = Field(default="a-long-session-secret-nobody-set", description="cookies")\n',
            ('    jwt_secret: str = Field(default="unset-jwt-secret-for-local-runs")\n', "    jwt_secret: str\n"),
            ('Field(default="a-long-session-secret-nobody-set", description="cookies")', 'Field(description="cookies")'),
            filename="backend/app/config.py",
            unsafe=True,
            findings=[(6, 37, "jwt_secret is a secret written in the source"), (7, 41, "session_secret is a secret written")],
            name="pydantic Field defaults of secret settings",
        ), "backend/main.py", "app.config"),
        _beside_app(Edited(
            "import hashlib\nimport hmac\nimport os\n\n\ndef webhook_signature(payload: bytes) -> str:\n"
            '    signing = (os.environ.get("WEBHOOK_SIGNING_SECRET", "") or os.environ.get("APP_SECRET", "")).strip()\n'
            "    if not signing:\n"
            '        signing = "local-webhook-signing"\n'
            "    return hmac.new(signing.encode(), payload, hashlib.sha256).hexdigest()\n\n\n"
            'EXPORT_KEY = os.environ.get("EXPORT_SECRET") or "local-export-secret"\n',
            ('        signing = "local-webhook-signing"\n', '        raise RuntimeError("WEBHOOK_SIGNING_SECRET is not set")\n'),
            filename="backend/app/webhooks.py",
            unsafe=True,
            findings=[
                (9, 19, "signing falls back to the literal 'local-webhook-signing' when WEBHOOK_SIGNING_SECRET is not set"),
                (13, 49, "EXPORT_SECRET falls back to the literal 'local-export-secret'"),
            ],
            name="a variable read from a secret's variable falls back to a literal",
        )),
        _beside_app(Invalid(
            "#!/usr/bin/env python3\nimport os\nimport subprocess\n\n"
            'API_KEY = "sk_5162fe0a7b1915996412cdd9b1f2c68713fb026f59d5a176"\n'
            f'SUPABASE_SERVICE_ROLE_KEY = "{SERVICE_ROLE_JWT}"\n'
            "env = dict(os.environ)\n"
            "env['BROKER_SECRET_KEY'] = 'RFOqUNxzFs0coYn5dQND4kqdjmmAbaPXRjs6B2os'\n"
            'LANGFUSE = {"secret": "sk-lf-7c1e9a42-5b3d-4f86-a0e2-9d4b6c8f1a3e"}\n'
            "subprocess.run(['server'], env=env)\n",
            "#!/usr/bin/env python3\nimport os\nimport subprocess\n\n"
            'API_KEY = os.environ["ELEVENLABS_API_KEY"]\n'
            'SUPABASE_SERVICE_ROLE_KEY = os.environ["SUPABASE_SERVICE_ROLE_KEY"]\n'
            "env = dict(os.environ)\n"
            "env['BROKER_SECRET_KEY'] = os.environ[\"BROKER_SECRET_KEY\"]\n"
            'LANGFUSE = {"secret": os.environ["LANGFUSE_SECRET_KEY"]}\n'
            "subprocess.run(['server'], env=env)\n",
            filename="test_voice_agent.py",
            unsafe=True,
            findings=[
                (5, 11, "API_KEY is an ElevenLabs API key written in the source"),
                (6, 29, "SUPABASE_SERVICE_ROLE_KEY is a Supabase service-role key (full access to the database)"),
                (8, 28, "BROKER_SECRET_KEY is a secret written in the source"),
                (9, 23, "a Langfuse secret key is written in the source"),
            ],
            name="real keys in a root-level script, each named for what it is",
        )),
        Invalid(
            f'import OpenAI from "openai";\n\nconst client = new OpenAI({{ apiKey: "{FAKE_KEY}" }});\n'
            "await client.files.create({ file: process.argv[2], purpose: 'assistants' });\n",
            None,
            filename="frontend/scripts/upload.mjs",
            findings=[(3, 37, "an OpenAI API key is written in a Node script")],
            name="a Node script is not front-end code",
        ),
        served(Edited(
            "from pydantic_settings import BaseSettings\n\n"
            "class Settings(BaseSettings):\n"
            '    DATABASE_URL: str = "sqlite:///./taskpilot.db"\n'
            '    JWT_SECRET: str = "dev-secret-key-change-in-production"\n'
            '    JWT_ALGORITHM: str = "HS256"\n'
            '    BETTER_AUTH_SECRET: str = "dev-secret-key"\n'
            '    OPENAI_API_KEY: str = "sk-test-key"  # Required for OpenAI Agents SDK\n',
            ('    JWT_SECRET: str = "dev-secret-key-change-in-production"\n',
             "    JWT_SECRET: str\n"),
            ('    BETTER_AUTH_SECRET: str = "dev-secret-key"\n',
             "    BETTER_AUTH_SECRET: str\n"),
            filename="backend/config.py",
            findings=[
                ("backend/config.py", 5, 23, "JWT_SECRET is a secret written in the source"),
                ("backend/config.py", 7, 31, "BETTER_AUTH_SECRET is a secret written in the source"),
            ],
            unsafe=True,
            name="pydantic settings defaults",
        ), "backend/main.py", "config"),
        served(Invalid(
            "import os\n\nclass Settings:\n"
            "    BETTER_AUTH_SECRET: str = os.getenv(\n"
            '        "BETTER_AUTH_SECRET",\n'
            '        "default_secret_key_change_in_production_minimum_32_chars"\n'
            "    )\n",
            "import os\n\nclass Settings:\n"
            '    BETTER_AUTH_SECRET: str = os.environ["BETTER_AUTH_SECRET"]\n',
            filename="backend/src/core/config.py",
            unsafe=True,
            name="literal default of os.getenv",
            findings=[("backend/src/core/config.py", 6, 9, "BETTER_AUTH_SECRET falls back to a literal secret when the variable is not set")],
        ), "backend/main.py", "src.core.config"),
        served(Invalid(
            "import os\nfrom pydantic_settings import BaseSettings\n\nclass AuthSettings(BaseSettings):\n"
            '    BETTER_AUTH_SECRET: str = os.getenv("BETTER_AUTH_SECRET", "default_secret_key_change_me")\n'
            '    ALGORITHM: str = os.getenv("ALGORITHM", "HS256")\n',
            "import os\nfrom pydantic_settings import BaseSettings\n\nclass AuthSettings(BaseSettings):\n"
            "    BETTER_AUTH_SECRET: str\n"
            '    ALGORITHM: str = os.getenv("ALGORITHM", "HS256")\n',
            filename="backend/src/core/config.py",
            unsafe=True,
            name="os.getenv default in a settings class: field made required",
            findings=[("backend/src/core/config.py", 5, 63, "BETTER_AUTH_SECRET falls back to a literal secret when the variable is not set")],
        ), "backend/main.py", "src.core.config"),
        Invalid(
            '"""App."""\nfrom openai import OpenAI\n\nSECRET_KEY = "super-secret-signing-key"\n'
            f'client = OpenAI(api_key="{FAKE_KEY}")\n',
            '"""App."""\nfrom openai import OpenAI\nimport os\n\nSECRET_KEY = os.environ["SECRET_KEY"]\n'
            'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])\n',
            filename="main.py",
            findings=[
                (4, 14, "SECRET_KEY is a secret written in the source"),
                (5, 25, "api_key= is given an OpenAI API key written in the source"),
            ],
            unsafe=True,
            name="module secret and sk- key, import os added",
        ),
        Invalid(
            "import os\nimport jwt as pyjwt\n\ndef make(user):\n    return pyjwt.encode({'sub': user}, 'mysecret', algorithm='HS256')\n",
            "import os\nimport jwt as pyjwt\n\ndef make(user):\n    return pyjwt.encode({'sub': user}, os.environ['JWT_SECRET'], algorithm='HS256')\n",
            filename="auth/tokens.py",
            unsafe=True,
            name="jwt.encode key literal",
            findings=[(5, 40, "pyjwt.encode() signs or checks tokens with a literal key")],
        ),
        Invalid(
            'import OpenAI from "openai";\n\n'
            f'export const openai = new OpenAI({{ apiKey: "{FAKE_KEY}", dangerouslyAllowBrowser: true }});\n',
            None,
            filename="frontend/src/lib/openai.ts",
            findings=[(3, 44, "an OpenAI API key is written in front-end code")],
            name="front-end key: report",
        ),
    ],
)
