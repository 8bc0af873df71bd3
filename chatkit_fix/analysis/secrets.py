"""Secrets in source: which literals are credentials, whose they are, and which only stand in for one.

Facts about credential formats (OpenAI `sk-proj-…`, Langfuse `sk-lf-…`, ElevenLabs `sk_<48 hex>`, Supabase
service-role JWTs, ...), about names that hold a secret (`JWT_SECRET`, `api_key`), and about values that take a
secret's place without being one: vault references (`[[smtp_password]]`), `<your-key>`, `changeme`, the field's
own name, `example` values and alphabet runs (`ABCdefGHI…`).
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KeyFormat:
    pattern: re.Pattern
    what: str  # "an OpenAI API key": what the message calls it
    env: str  # the variable it conventionally lives in
    secret: bool = True  # False for keys published by design


KEY_FORMATS = (
    KeyFormat(re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}"), "an OpenAI API key", "OPENAI_API_KEY"),
    KeyFormat(re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}"), "an Anthropic API key", "ANTHROPIC_API_KEY"),
    KeyFormat(re.compile(r"sk-lf-[A-Za-z0-9\-]{20,}"), "a Langfuse secret key", "LANGFUSE_SECRET_KEY"),
    KeyFormat(re.compile(r"pk-lf-[A-Za-z0-9\-]{20,}"), "a Langfuse public key", "LANGFUSE_PUBLIC_KEY", secret=False),
    KeyFormat(re.compile(r"sk-or-v1-[0-9a-f]{32,}"), "an OpenRouter API key", "OPENROUTER_API_KEY"),
    KeyFormat(re.compile(r"sk-[A-Za-z0-9]{48}"), "an OpenAI API key", "OPENAI_API_KEY"),  # the legacy format
    KeyFormat(re.compile(r"sk-[A-Za-z0-9_\-]{20,}"), "an API key (sk-…)", "API_KEY"),  # a provider we cannot name
    KeyFormat(re.compile(r"sk_[0-9a-f]{48}"), "an ElevenLabs API key", "ELEVENLABS_API_KEY"),
    KeyFormat(re.compile(r"[sr]k_(?:live|test)_[A-Za-z0-9]{20,}"), "a Stripe secret key", "STRIPE_SECRET_KEY"),
    KeyFormat(re.compile(r"pk_(?:live|test)_[A-Za-z0-9]{20,}"), "a Stripe publishable key", "STRIPE_PUBLISHABLE_KEY", secret=False),
    KeyFormat(re.compile(r"tlk_[A-Z0-9]{20,}"), "a TwelveLabs API key", "TWELVELABS_API_KEY"),
    KeyFormat(re.compile(r"gsk_[A-Za-z0-9]{40,}"), "a Groq API key", "GROQ_API_KEY"),
    KeyFormat(re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token", "GITHUB_TOKEN"),
    KeyFormat(re.compile(r"xox[abprs]-[A-Za-z0-9\-]{20,}"), "a Slack token", "SLACK_BOT_TOKEN"),
    KeyFormat(re.compile(r"AIza[0-9A-Za-z_\-]{35}"), "a Google API key", "GOOGLE_API_KEY"),
    KeyFormat(re.compile(r"domain_pk_[A-Za-z0-9_]+"), "a ChatKit domain key", "CHATKIT_DOMAIN_KEY", secret=False),
)
JWT = re.compile(r"eyJ[A-Za-z0-9_\-]+\.(eyJ[A-Za-z0-9_\-]+)\.[A-Za-z0-9_\-]+")
SUPABASE_SERVICE = KeyFormat(JWT, "a Supabase service-role key (full access to the database)", "SUPABASE_SERVICE_ROLE_KEY")
SUPABASE_ANON = KeyFormat(JWT, "a Supabase anon key", "SUPABASE_ANON_KEY", secret=False)
SIGNED_TOKEN = KeyFormat(JWT, "a signed token (JWT)", "TOKEN")


def credential(value: str) -> KeyFormat | None:
    """The format a literal is written in, when it is a credential of a known shape."""
    value = value.strip()
    for key in KEY_FORMATS:
        if key.pattern.fullmatch(value):
            return key
    token = JWT.fullmatch(value)
    if token is not None:
        role = _claims(token.group(1)).get("role")
        return SUPABASE_SERVICE if role == "service_role" else SUPABASE_ANON if role == "anon" else SIGNED_TOKEN
    return None


def _claims(segment: str) -> dict:
    try:
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


# ---- names -------------------------------------------------------------------------------------------------------


def name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[_\-\s.]+", spaced.upper()) if t]


SIGNING_ENDINGS = (("SECRET",), ("SECRET", "KEY"), ("JWT", "KEY"), ("SIGNING", "KEY"), ("PRIVATE", "KEY"), ("PASSWORD",), ("PASSWD",), ("SECRET", "ACCESS", "KEY"))
KEY_ENDINGS = (("API", "KEY"), ("APIKEY",), ("ACCESS", "KEY"), ("AUTH", "TOKEN"), ("ACCESS", "TOKEN"), ("BOT", "TOKEN"), ("SERVICE", "ROLE", "KEY"))
NOT_A_VALUE = {"ENV", "VAR", "NAME", "FIELD", "HEADER", "PATH", "FILE", "URL", "ID", "ALGORITHM", "ALG", "LENGTH", "LEN", "MIN", "MAX", "PATTERN", "REGEX", "PREFIX", "COOKIE", "PARAM", "HASH", "SCHEME", "TYPE", "MODE", "LABEL"}


def secret_kind(name: str | None) -> str | None:
    """"signing" for secrets and passwords (any literal is a leak), "key" for API keys and tokens, else None."""
    if not name:
        return None
    tokens = name_tokens(name)
    if not tokens or tokens[-1] in NOT_A_VALUE:
        return None
    for ending in SIGNING_ENDINGS:
        if tuple(tokens[-len(ending):]) == ending:
            return "signing"
    for ending in KEY_ENDINGS:
        if tuple(tokens[-len(ending):]) == ending:
            return "key"
    return None


def env_name(name: str) -> str:
    return "_".join(name_tokens(name)) or "SECRET"


def is_password(name: str | None) -> bool:
    tokens = name_tokens(name or "")
    return bool(tokens) and tokens[-1] in ("PASSWORD", "PASSWD")


# ---- values ------------------------------------------------------------------------------------------------------

# stands in for a secret: a vault reference, a template, `<your key>`
STRUCTURAL_PLACEHOLDER = re.compile(r"^\s*(\[\[.*\]\]|\{\{.*\}\}|\$\{.*\}|<[^<>]*>|%\(\w+\)s)\s*$")
PLACEHOLDER_WORDS = {"changeme", "mock", "fake", "dummy", "placeholder", "example", "sample", "todo", "redacted", "none",
                     "null", "secrethere"}
PLACEHOLDER_PARTS = re.compile(r"example|placeholder|dummy|mock|fake|xxxx|\.\.\.|^sk-test", re.IGNORECASE)
# an API key named like one, but written as an instruction
KEY_PLACEHOLDER = re.compile(r"your|replace|insert|here$|<|>", re.IGNORECASE)
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"


def placeholder(value: str, name: str | None = None) -> bool:
    """A value that takes a secret's place without being one."""
    text = value.strip()
    normalized = re.sub(r"[-_\s]", "", text.lower())
    if STRUCTURAL_PLACEHOLDER.match(text) or PLACEHOLDER_PARTS.search(text):
        return True
    if normalized in PLACEHOLDER_WORDS or len(set(normalized)) <= 1:
        return True
    if name and normalized == re.sub(r"[-_\s]", "", name.lower()):
        return True  # `SECRET = "secret"`: an enum-like label, the field's own name
    return _has_run(text.lower(), ALPHABET) or _has_run(text, DIGITS, 8)


def _has_run(text: str, alphabet: str, length: int = 6) -> bool:
    """`abcdef`, `12345678`: what a person types for a sample value, never what a key generator produces."""
    return any(alphabet[i:i + length] in text for i in range(len(alphabet) - length + 1))


def is_secret_value(kind: str, value: str, name: str | None = None) -> bool:
    """Whether a literal given to a secret-named place is a secret (not empty, a name, a URL, prose, a placeholder)."""
    value = value.strip()
    if not value or re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", value):
        return False  # empty, and environment variable names
    found = credential(value)
    if found is not None and not found.secret:
        return False  # published by design: domain keys, anon keys, publishable keys
    if re.match(r"^(https?|postgres(ql)?|mysql|sqlite|redis)://", value) or value.startswith(("/", "./")):
        return False
    if not re.search(r"[A-Za-z0-9]{3}", value) or re.fullmatch(r"\W*\*{3,}\W*", value):
        return False  # masks such as ":****" and punctuation are what code prints instead of a secret
    if re.search(r"\s", value) and re.search(r"[(),;!?]|^\W", value):
        return False  # prose (a message mentioning a secret), not a credential
    if placeholder(value, name):
        return False
    if kind == "key":
        return found is not None or (len(value) >= 20 and " " not in value and not KEY_PLACEHOLDER.search(value))
    return True


def machine_generated(value: str) -> bool:
    """A value no person chose: long, without spaces, mostly not words, varied characters (a real key, not
    `backup-pass-2024`)."""
    value = value.strip()
    if len(value) < 16 or re.search(r"\s", value):
        return False
    parts = re.split(r"[-_.:]", value)
    worded = sum(len(p) for p in parts if len(p) >= 3 and p.isalpha() and (p.islower() or p.isupper()))
    if worded * 2 >= len(value):
        return False
    counts = {c: value.count(c) for c in set(value)}
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy >= 3.5
