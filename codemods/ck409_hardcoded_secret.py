"""Secrets written in the source: OpenAI `sk-…` keys, JWT and app secrets, literal defaults of secret variables.

## Why
Whatever is in the repository is readable by everyone who can read the repository, its forks and its build
artefacts, forever (the history keeps it after the line is deleted). An `sk-…` key in the source bills your account
for anyone who finds it; in front-end code it ships to every visitor's browser. A literal JWT secret (or the literal
default of `os.getenv("JWT_SECRET", "dev-secret")`) means any deployment that forgets to set the variable signs its
tokens with a secret everyone knows, so anyone can mint a token for any user. The code keeps working, so nobody
notices.

Not reported: `domain_pk_…` ChatKit domain keys (public by design), obvious placeholders (`sk-test-key`,
`your-api-key-here`), environment variable *names*, and dummy values under `tests/`. An empty secret is CK404.

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
Front-end keys are reported: move the call to the back end.
"""

from __future__ import annotations

import ast
import re
from functools import partial

from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import Edited, served
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

# The prefilter: a secret-like name given a string literal (assignment, annotation, keyword, getenv default), a literal
# key handed to jwt, or an OpenAI key anywhere. A superset of what the checks below report, and far narrower than
# the words "secret" or "token", which ordinary code is full of.
OPENAI_KEY_LITERAL = re.compile(rb"[\"'`]sk-[A-Za-z0-9_-]{16,}")
OPENAI_KEY_SHAPE = re.compile(rb"sk-[A-Za-z0-9_-]{16,}")  # a literal prefix: one fast pass before the quote is checked
SECRET_LITERALS = (
    re.compile(rb"(?i)(secret|passw|key|token)\w*[\"']?\s*(:[^=\n]{0,60})?=\s*[rbuf]{0,2}[\"'`][^\"'`\s]"),
    re.compile(rb"(?i)(getenv|environ\.get|setdefault)\(\s*[\"'][^\"']*[\"']\s*,\s*[rbuf]{0,2}[\"']"),
    # a key handed to encode/decode; a codec's error handler (`.decode("utf-8", "replace")`) is not one
    re.compile(rb"(?i)\.(en|de)code\([^,)]*,\s*[rbuf]{0,2}[\"'](?!(strict|replace|ignore|surrogate\w*|\w+replace)[\"'])"),
    OPENAI_KEY_LITERAL,
)

RULE = rule(
    code="CK409",
    slug="hardcoded-secret",
    safety=Safety.UNSAFE,
    summary="sk-… keys, JWT/app secrets and literal secret defaults in source",
    url="https://platform.openai.com/docs/guides/production-best-practices#api-keys",
    languages=("python", "tsx"),
    triggers=SECRET_LITERALS,
    language_triggers={"tsx": ((OPENAI_KEY_SHAPE, OPENAI_KEY_LITERAL),)},  # front-end code is checked for OpenAI keys only
    module=__name__,
    explanation=__doc__,
)

KEY_IN_TEXT = re.compile(r"""(["'`])(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})\1""")


@RULE.check
def check(ctx):
    if web.is_test_path(ctx.project, ctx.path):
        return
    if ctx.language == "tsx":
        yield from _check_frontend(ctx)
    elif ctx.language == "python":
        yield from _check_python(ctx)


def _check_frontend(ctx):
    if "sk-" not in ctx.text:
        return
    for node in [*ctx.root.find_all(kind="string"), *ctx.root.find_all(kind="template_string")]:
        value = node.text()[1:-1]
        if web.looks_like_openai_key(value):
            yield ctx.finding(
                node,
                "an OpenAI API key (sk-…) is written in front-end code: it ships to every visitor's browser",
                hint="call OpenAI from the back end with OPENAI_API_KEY from its environment, and rotate this key",
            )


def _env_name(name: str) -> str:
    return "_".join(web.name_tokens(name)) or "SECRET"


def _is_settings_class(ctx, cls: ast.ClassDef) -> bool:
    """A pydantic settings class that reads each field from the variable of the same name (no env_prefix)."""
    if "env_prefix" in ctx.segment(cls):
        return False
    return any(
        ctx.refers_to(base, "pydantic_settings", "BaseSettings") or ctx.refers_to(base, "pydantic", "BaseSettings")
        or web.last_name(base).endswith("Settings")
        for base in cls.bases
    )


def _check_python(ctx):
    reported: set[int] = set()
    for node in walk(ctx.tree):
        found = None
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            found = _assignment(ctx, node)
        elif isinstance(node, ast.Call):
            found = _call(ctx, node)
        if found is not None:
            literal_node, finding = found
            if id(literal_node) not in reported:
                reported.add(id(literal_node))
                yield finding
    for node in walk(ctx.tree):
        value = web.string_value(node)
        if value is not None and id(node) not in reported and web.looks_like_openai_key(value):
            reported.add(id(node))
            yield ctx.finding(node, "an OpenAI API key (sk-…) is written in the source",
                              fix=partial(_environ, ctx, node, "OPENAI_API_KEY"),
                              hint='read it from the environment (os.environ["OPENAI_API_KEY"]) and rotate this key')


def _environ(ctx, node: ast.AST, name: str):
    expression, edits = web.environ_lookup(ctx, name)
    return [*edits, ctx.replace(node, expression)]


def _assignment(ctx, statement):
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    if len(targets) != 1 or not isinstance(targets[0], (ast.Name, ast.Attribute)):
        return None
    name = targets[0].id if isinstance(targets[0], ast.Name) else targets[0].attr
    kind = web.secret_kind(name)
    value = web.string_value(statement.value)
    if kind is None or value is None or not web.is_secret_value(kind, value):
        return None
    env = "OPENAI_API_KEY" if web.looks_like_openai_key(value) and kind == "key" and "OPENAI" in name.upper() else _env_name(name)
    parent = ctx.parents.get(statement)
    what = "an API key" if kind == "key" else "a secret"
    message = f"{name} is {what} written in the source: anyone who can read the code can use it"
    if isinstance(parent, ast.ClassDef) and isinstance(statement, ast.AnnAssign) and _is_settings_class(ctx, parent):
        start = ctx.span(statement.annotation)[1]
        end = ctx.span(statement.value)[1]
        return statement.value, ctx.finding(
            statement.value, message, fix=ctx.replace((start, end), ""),
            hint=f"drop the default: the settings class then requires {env} from the environment",
        )
    return statement.value, ctx.finding(statement.value, message, fix=partial(_environ, ctx, statement.value, env),
                                        hint=f'read it from the environment: os.environ["{env}"]')


def _call(ctx, call: ast.Call):
    env = web.getenv_call(ctx, call)
    if env is not None:
        variable, default = env
        value = web.string_value(default)
        if value is None or not variable:
            return None
        kind = web.secret_kind(variable) or web.secret_kind(_assigned_name(ctx, call))
        if kind is None or not web.is_secret_value(kind, value):
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
        if value:
            return key, ctx.finding(key, f"{web.dotted(call.func)}() signs or checks tokens with a literal key: anyone can mint tokens",
                                    fix=partial(_environ, ctx, key, "JWT_SECRET"), hint='use os.environ["JWT_SECRET"]')
        return None
    for keyword in call.keywords:
        kind = web.secret_kind(keyword.arg)
        value = web.string_value(keyword.value)
        if kind is None or value is None or web.name_tokens(keyword.arg or "")[-1] in ("PASSWORD", "PASSWD"):
            continue
        if web.is_secret_value(kind, value):
            env = "OPENAI_API_KEY" if web.looks_like_openai_key(value) else _env_name(keyword.arg)
            return keyword.value, ctx.finding(
                keyword.value, f"{keyword.arg}= is given a literal secret", fix=partial(_environ, ctx, keyword.value, env),
                hint=f'read it from the environment: os.environ["{env}"]',
            )
    return None


def _assigned_name(ctx, call: ast.Call) -> str | None:
    parent = ctx.parents.get(call)
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
        target = parent.targets[0]
        return target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
    if isinstance(parent, ast.AnnAssign):
        return getattr(parent.target, "id", None)
    return None


FAKE_KEY = "sk-proj-4f9Qz7LmT2xV8bN1cR6yH3kW0pJ5sD9aE2gU7iO4"

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
    ],
    invalid=[
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
                (5, 25, "api_key= is given a literal secret"),
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
            findings=[(3, 44, "an OpenAI API key (sk-…) is written in front-end code")],
            name="front-end key: report",
        ),
    ],
)
