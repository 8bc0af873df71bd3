"""chatkit-fix: find, fix and verify the silent failures of OpenAI ChatKit integrations."""

__version__ = "0.1.0"
