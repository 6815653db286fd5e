"""What a person cannot see in text from an API, in one place: the edge removes it where text
enters (``parse.text``), so statuses are compared as they are shown, and every rendering and
message attribute removes it again (``alerts.render.api_text``).

Invisible: a control character (Cc: line breaks among them, each shown as a space); a format
(Cf: zero-width, joiners, bidi controls, tags), surrogate (Cs) or private-use (Co) character;
every Default_Ignorable_Code_Point (Hangul fillers, variation selectors, the combining grapheme
joiner: letters and marks by category, yet drawn as nothing); every noncharacter; and the braille
pattern blank, which Unicode calls neither but every font draws empty.
"""

from __future__ import annotations

import unicodedata

# Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of Unicode 15.1 (Python 3.13's
# unicodedata version, which does not carry the property); tests/unit/test_parse.py compares it
# with the regex module's tables.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER..HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ..KHMER VOWEL INHERENT AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, MONGOLIAN VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE..RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # LEFT-TO-RIGHT EMBEDDING..RIGHT-TO-LEFT OVERRIDE
    (0x2060, 0x206F),  # WORD JOINER..NOMINAL DIGIT SHAPES
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1..VARIATION SELECTOR-16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT LETTER OVERLAP..SHORTHAND FORMAT UP STEP
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM..MUSICAL SYMBOL END PHRASE
    (0xE0000, 0xE0FFF),  # tags, VARIATION SELECTOR-17..256, reserved
)
# Noncharacters: U+FDD0..U+FDEF, and the last two code points of each of the 17 planes.
NONCHARACTERS = (
    (0xFDD0, 0xFDEF),
    *((plane + 0xFFFE, plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000)),
)
BRAILLE_PATTERN_BLANK = 0x2800

_HIDDEN_CATEGORIES = frozenset({"Cf", "Cs", "Co"})
INVISIBLE = frozenset(
    code for start, end in (*DEFAULT_IGNORABLE, *NONCHARACTERS) for code in range(start, end + 1)
) | {BRAILLE_PATTERN_BLANK}


def visible(text: str) -> str:
    """``text`` with nothing a person cannot see: each control character a space, every other
    invisible character removed."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_shown(c) for c in text)


def _shown(character: str) -> str:
    category = unicodedata.category(character)
    if category == "Cc":
        return " "
    if category in _HIDDEN_CATEGORIES or ord(character) in INVISIBLE:
        return ""
    return character
