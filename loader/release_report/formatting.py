"""How the report writes numbers, months and changes (presentation only: no arithmetic
on the figures beyond choosing a sign and a word)."""

from __future__ import annotations

import datetime as dt
from typing import Any

MINUS = "\u2212"


def month(day: dt.date, short: bool = False) -> str:
    return f"{day:%b %Y}" if short else f"{day:%B %Y}"


def count(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.0f}".replace("-", MINUS)


def pct(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}%".replace("-", MINUS)


def signed(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{abs(value):,.{digits}f}{suffix}"
    return f"+{text}" if value > 0 else (f"{MINUS}{text}" if value < 0 else f"{text}")


def direction(change: Any, up: str = "up", down: str = "down", same: str = "unchanged") -> str:
    if change is None or change == 0:
        return same
    return up if change > 0 else down


def correlation_strength(r: float) -> str:
    """Words for the size of a Pearson correlation (Cohen's conventional bounds)."""
    size = abs(r)
    if size < 0.1:
        return "no clear"
    strength = "a weak" if size < 0.3 else ("a moderate" if size < 0.5 else "a strong")
    return f"{strength} {'positive' if r > 0 else 'negative'}"


def plural(number: int, noun: str, plural_noun: str | None = None) -> str:
    return f"{number} {noun if number == 1 else (plural_noun or noun + 's')}"


_SMALL_WORDS = {"and", "of", "the", "for", "in", "on", "at", "to"}
_ACRONYMS = {"NHS", "ICB", "CIC", "UK", "MSK", "CYP"}


def display_name(name: str) -> str:
    """An organisation's name as published in capitals, in title case for sentences."""
    if name != name.upper():
        return name
    words = []
    for index, word in enumerate(name.split()):
        if word in _ACRONYMS:
            words.append(word)
        elif index and word.lower() in _SMALL_WORDS:
            words.append(word.lower())
        else:
            words.append("-".join(part.capitalize() for part in word.split("-")))
    return " ".join(words)


def icb_name(name: str | None) -> str | None:
    """An ICB's name without the "NHS " and " Integrated Care Board" every one of them has."""
    if name is None:
        return None
    short = name.removeprefix("NHS ").removesuffix(" INTEGRATED CARE BOARD").removesuffix(" Integrated Care Board")
    return display_name(short)
