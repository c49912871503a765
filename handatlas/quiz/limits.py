"""The limits a quiz file must keep: one place for every bound the loader enforces.

A quiz file is read from a folder anyone with write access can fill, and the app loads every
file of that folder at start.  These bounds keep a hostile or broken file (a huge file, YAML
nested thousands deep, "billion laughs" aliases, a million questions, a prompt of a megabyte)
from stalling or crashing the loader: such a file is refused with a ``file:line`` message, like
any other invalid file.  The shipped bank stays far below every limit (at most 38 questions and 4
levels of nesting in a file, prompts under 200 characters, no aliases).

Examples
--------
>>> MAX_FILE_BYTES // 1_000_000
5
"""

from __future__ import annotations

#: Largest quiz file read, in bytes (5 MB); only this much (plus one byte) is ever read.
MAX_FILE_BYTES = 5_000_000
#: Deepest nesting of mappings and lists (the format needs 4: file, questions, question, list).
MAX_DEPTH = 12
#: Most YAML nodes in a file, counting every alias as the nodes it repeats.
MAX_NODES = 50_000
#: Most aliases (``*name``) in a file.
MAX_ALIASES = 200
#: Most questions in one file.
MAX_QUESTIONS = 500
#: Longest prompt, in characters.
MAX_PROMPT_CHARS = 1_000
#: Longest other text (explanation, scenario, an option, an item, the description), in characters.
MAX_TEXT_CHARS = 5_000
#: Most problems reported for one file (then how many more).
MAX_PROBLEMS = 50
