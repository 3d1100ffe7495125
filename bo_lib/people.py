"""Who someone is, as the four-eyes rules compare them: one rule for every control that needs two
different people (the sign-off's preparer and reviewer, a write-off's proposer and approver).

Rule: two names are the same person when they are equal after Unicode compatibility normalization
(NFKC), with format characters (zero-width spaces and joiners, ...) removed, runs of whitespace
collapsed to one space, ends trimmed, and case folded. "Alice  Smith", "alice smith" and
"Alice\u200b Smith" are one person.
"""

from __future__ import annotations

import unicodedata


def person_key(name: str) -> str:
    """The form two names are compared in (see the module's rule)."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split()).casefold()


def same_person(first: str, second: str) -> bool:
    return person_key(first) == person_key(second)


def check_name(name: str, option: str = "--as") -> str:
    """A name as given, trimmed; refused when nothing is left of it once compared (blank, only
    invisible characters)."""
    if not person_key(name):
        raise ValueError(f"{option}: a name is required (who acts)")
    return " ".join(str(name).split())
