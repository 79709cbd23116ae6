"""Magnesium itself: supplement forms, their elemental %, the upper level, and dose amounts.

Pure facts and parsing, no storage: the statistics and the intake log both use them.
Sources: NIH ODS / IOM 1997; the elemental % follow from each compound's formula.
"""

from __future__ import annotations

import re

from twitchlog.errors import UserError

UPPER_LEVEL_MG = 350  # supplemental, adults, mg/day (IOM 1997); food does not count toward it
MAX_ENTRY_MG = 5000.0  # elemental, one entry: above this it is a typo (or compound weight)

# Elemental Mg, % by weight (NIH ODS, from the formulas).
ELEMENTAL_PERCENT: dict[str, float] = {
    "oxide": 60.3,
    "carbonate": 28.8,
    "citrate": 16.2,  # anhydrous trimagnesium dicitrate
    "malate": 15.5,
    "glycinate": 14.1,  # bisglycinate: Mg(C2H4NO2)2
    "chloride": 12.0,  # hexahydrate
    "lactate": 12.0,
    "sulfate": 9.9,  # heptahydrate (Epsom salt)
    "taurate": 8.9,
    "l-threonate": 8.3,
    "aspartate": 8.4,
    "orotate": 7.3,
}

# Other spellings of the same compound.  Only names whose elemental % is the
# table's figure: "buffered glycinate" (glycinate + oxide) or anhydrous
# chloride (25.5 %) are deliberately not aliases.
FORM_ALIASES: dict[str, str] = {
    "bisglycinate": "glycinate",
    "diglycinate": "glycinate",
    "glycinate-chelate": "glycinate",
    "bisglycinate-chelate": "glycinate",
    "trimagnesium-citrate": "citrate",
    "trimagnesium-dicitrate": "citrate",
    "dimagnesium-malate": "malate",
    "chloride-hexahydrate": "chloride",
    "sulphate": "sulfate",
    "sulfate-heptahydrate": "sulfate",
    "sulphate-heptahydrate": "sulfate",
    "epsom-salt": "sulfate",
    "taurinate": "taurate",
    "threonate": "l-threonate",
    "l-threonate": "l-threonate",
    "magtein": "l-threonate",
    "l-aspartate": "aspartate",
    "oxyde": "oxide",
}

KNOWN_FORMS_HELP = ", ".join(ELEMENTAL_PERCENT)


def _form_key(text: str) -> str:
    key = re.sub(r"[\s_]+", "-", text.strip().lower())
    key = re.sub(r"^(magnesium|mg)-", "", key)
    return key.strip("-")


def canonical_form(text: str | None) -> str | None:
    """The table's name for a form ('Magnesium Bisglycinate' -> 'glycinate'); None when not in the table."""
    if not text or not text.strip():
        return None
    key = _form_key(text)
    if key in ELEMENTAL_PERCENT:
        return key
    return FORM_ALIASES.get(key)


def normal_form(text: str | None) -> str | None:
    """What is stored as the form: the table's name when known, else the text as typed (lower case)."""
    if not text or not text.strip():
        return None
    return canonical_form(text) or _form_key(text)


def form_in_name(name: str) -> str | None:
    """A known form named in a food or product name ('Magnesium Glycinate 200' -> 'glycinate'), else None."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", name.lower())
    for word in words:
        form = canonical_form(word)
        if form:
            return form
    return None


def elemental_from_compound(compound_mg: float, form: str | None) -> float:
    """Elemental mg in `compound_mg` of the form's salt, from the % table; UserError for an unknown form."""
    canon = canonical_form(form)
    if canon is None:
        given = f"form {form!r} is not in the elemental % table" if form else "--compound needs a --form"
        raise UserError(f"{given}; known forms: {KNOWN_FORMS_HELP} (or give elemental mg, as US labels state it)")
    return compound_mg * ELEMENTAL_PERCENT[canon] / 100.0


_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(mg|g|milligrams?|grams?)?\s*$", re.IGNORECASE)


def parse_amount(text: str) -> float:
    """Milligrams from '200mg', '200 mg', '200' or '0.2g'."""
    m = _AMOUNT.match(str(text))
    if not m:
        raise UserError(f"amount {text!r}: expected e.g. 200mg, 200 or 0.5g")
    value = float(m.group(1))
    unit = (m.group(2) or "mg").lower()
    return value * 1000.0 if unit.startswith("g") else value
