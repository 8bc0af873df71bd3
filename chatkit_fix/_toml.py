"""The stdlib TOML reader (Python 3.11+), or its backport `tomli` on 3.10."""

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["tomllib"]
