"""The rules: one module per rule, named `ckNNN_<slug>`, each registering itself on import (see chatkit_fix.rules)."""
