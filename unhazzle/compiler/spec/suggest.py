"""Did-you-mean suggestions for near-miss keys, values and names."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: object, options: Iterable[str]) -> str | None:
    """The option most like *word*, if one is close enough to be a likely typo."""
    if not isinstance(word, str) or not word:
        return None
    choices = [o for o in options if o != word]
    lowered = {o.lower(): o for o in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    prefixed = sorted(o for o in choices if len(word) >= 3 and o.startswith(word))
    if len(prefixed) == 1:
        return prefixed[0]
    import difflib  # here: only a spec with a mistake pays for importing it

    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return match[0] if match else None


def hint(word: object, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' or ''."""
    best = closest(word, options)
    return f" (did you mean '{best}'?)" if best else ""
