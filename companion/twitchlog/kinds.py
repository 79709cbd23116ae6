"""Symptom kinds: the device logs codes, the companion names them."""

from __future__ import annotations

from twitchlog.errors import UserError
from twitchlog.firmware import protocol as P

KIND_NAMES = {
    P.KIND_TWITCH: "twitch",
    P.KIND_CRAMP: "cramp",
    P.KIND_SPASM: "spasm",
    P.KIND_TREMOR: "tremor",
    P.KIND_TINGLING: "tingling",
    P.KIND_RESTLESS_LEGS: "restless-legs",
    P.KIND_MIGRAINE: "migraine",
    P.KIND_ANXIETY: "anxiety",
    P.KIND_EYELID: "eyelid",
}
KIND_CODES = {name: code for code, name in KIND_NAMES.items()}
# How a sentence names the events of a kind ("you logged 35% fewer twitches").
KIND_PLURALS = {
    "twitch": "twitches",
    "cramp": "cramps",
    "spasm": "spasms",
    "tremor": "tremor episodes",
    "tingling": "tingling episodes",
    "restless-legs": "restless-legs episodes",
    "migraine": "migraines",
    "anxiety": "anxiety episodes",
    "eyelid": "eyelid twitches",
}


def kind_plural(name: str) -> str:
    """The events of kind `name` in a sentence; "symptom events" for anything else (e.g. all kinds)."""
    return KIND_PLURALS.get(name, "symptom events" if name in ("all", "all kinds") else f"{name} events")


# A dose logged with the button: a device record, never a symptom (the
# companion turns it into an intake entry, twitchlog.intake.doses).
DOSE = "dose"


def kind_name(code: int) -> str:
    if code in KIND_NAMES:
        return KIND_NAMES[code]
    if code == P.KIND_DOSE:
        return DOSE
    if code == P.KIND_TOMBSTONE:
        return "undo"
    if code == P.KIND_ANCHOR:
        return "clock-anchor"
    return f"kind-{code}"


def kind_code(name: str) -> int:
    """The code of a symptom name (or a number 1..63); UserError otherwise."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in KIND_CODES:
        return KIND_CODES[key]
    if key.isdigit() and 1 <= int(key) <= P.KIND_SYMPTOM_MAX:
        return int(key)
    raise UserError(f"unknown symptom kind {name!r}; known: {', '.join(KIND_CODES)}")
