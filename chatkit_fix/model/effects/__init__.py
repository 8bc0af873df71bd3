"""Effects: the per-function summaries the call graph carries to callers (what blocks the event loop, ...).

Each module holds the library and SDK facts one summary needs, never a rule's code or message.
"""
