"""Phones from a spreadsheet, 100,000 at a time: an exact fast path in front of `phonenumbers`.

`phonenumbers.parse` plus `is_valid_number` costs about 95 µs a number on this project's machine:
ten seconds of a 100,000-row import. Nearly every cell of a real base has one of four shapes in
the company's own country ("+7 916 …", "8 916 …", "7916…", "916…"), and for those this module
does what the library does, with the library's own metadata compiled once: it finds the national
number the same way `parse` would, then checks it against the same number-type patterns that
`is_valid_number` uses, after choosing the region of a shared country code by its leading digits
as the library does. Anything else (letters, an extension, another country, an international
dialling prefix, a national prefix the parser treats specially) goes to `parse_phone_cell`, and
the fast path only ever answers with a valid number: when in doubt it defers. A property test
compares the two on random input for several regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, region_code_for_country_code

from domain.importing.cells import Cell, cell_text
from domain.parsing import MAX_PHONE_INPUT, parse_phone

_PHONE_SPLIT = re.compile(r"[,;/]|\s{2,}")
_SHAPE = re.compile(r"^\+?[0-9\s().\-]+$")
_NOT_DIGIT = re.compile(r"[^0-9]")
# Every kind of number `is_valid_number` accepts; most numbers in a base are mobile, so first.
_TYPES = (
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True, slots=True)
class _Desc:
    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern.fullmatch(nsn) is not None


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return _Desc(frozenset(getattr(desc, "possible_length", ()) or ()), re.compile(pattern))


class _Region:
    def __init__(self, metadata: PhoneMetadata) -> None:
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        self.general = _desc(metadata.general_desc)
        found = (_desc(getattr(metadata, name)) for name in _TYPES)
        self.types = tuple(d for d in found if d is not None)

    def known_type(self, nsn: str) -> bool:
        """`_number_type_helper(...) != UNKNOWN`: the general pattern and some type's pattern."""
        if self.general is None or not self.general.matches(nsn):
            return False
        return any(d.matches(nsn) for d in self.types)


def _simple_prefix(metadata: PhoneMetadata | None) -> tuple[bool, re.Pattern[str] | None]:
    """(usable, national prefix pattern): usable when the prefix is plain digits parsed as
    they are (no alternatives, no carrier codes, no transformation)."""
    if metadata is None or metadata.national_prefix_transform_rule:
        return False, None
    prefix = metadata.national_prefix or ""
    parsing = metadata.national_prefix_for_parsing
    if parsing not in (None, prefix) or (prefix and not prefix.isdigit()):
        return False, None
    return True, (re.compile(re.escape(prefix)) if prefix else None)


class PhoneReader:
    """A cell -> E.164, or None if it is not a valid phone."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._fast = self._build(region)

    def _build(self, region: str) -> bool:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            return False
        code = str(metadata.country_code)
        if any(int(code[:i]) in COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(code))):
            return False
        usable, self._prefix = _simple_prefix(metadata)
        main = PhoneMetadata.metadata_for_region(region_code_for_country_code(int(code)))
        main_usable, self._plus_prefix = _simple_prefix(main)
        prefix = metadata.national_prefix or ""
        if not (usable and main_usable):
            return False
        if prefix and (prefix.startswith(code) or code.startswith(prefix)):
            return False
        self._code = code
        self._national_prefix = prefix
        idd = metadata.international_prefix
        self._idd = re.compile(idd) if idd else None
        self._home = _desc(metadata.general_desc)
        shared = COUNTRY_CODE_TO_REGION_CODE[int(code)]
        regions = [PhoneMetadata.metadata_for_region(r) for r in shared]
        self._regions = [_Region(m) for m in regions if m is not None]
        return bool(self._regions)

    def __call__(self, value: Cell) -> str | None:
        text = cell_text(value)
        if self._fast:
            phone = self._fast_e164(text)
            if phone is not None:
                return phone
        return parse_phone_cell(text, self.region)

    def _fast_e164(self, text: str) -> str | None:
        if len(text) > MAX_PHONE_INPUT or not _SHAPE.match(text):
            return None
        digits = _NOT_DIGIT.sub("", text)
        code = self._code
        if text.startswith("+"):
            if not digits.startswith(code):
                return None
            nsn = digits[len(code) :]
            if self._plus_prefix is not None and self._plus_prefix.match(nsn):
                return None
        elif self._idd is not None and self._idd.match(digits):
            return None
        elif digits.startswith(code):
            # "7916…": the country code is taken off only if the whole is not a national number
            if self._home is None or self._home.pattern.fullmatch(digits):
                return None
            nsn = digits[len(code) :]
            if self._prefix is not None and self._prefix.match(nsn):
                return None
        elif self._national_prefix and digits.startswith(self._national_prefix):
            nsn = digits[len(self._national_prefix) :]
        else:
            nsn = digits
        if not nsn or nsn[0] == "0" or not self._valid(nsn):
            return None
        return "+" + code + nsn

    def _valid(self, nsn: str) -> bool:
        """`is_valid_number`: the region of a shared country code is the first whose leading
        digits match (or, without leading digits, whose types know the number)."""
        if len(self._regions) == 1:
            return self._regions[0].known_type(nsn)
        for region in self._regions:
            if region.leading is not None:
                if region.leading.match(nsn):
                    return region.known_type(nsn)
            elif region.known_type(nsn):
                return True
        return False


def parse_phone_cell(value: Cell, region: str) -> str | None:
    """A phone as a spreadsheet holds it: typed any way, a number cell (79161234567.0), or two
    phones in one cell (the first one is taken)."""
    text = cell_text(value)
    phone = parse_phone(text, region)
    if phone is None and not text.startswith("+"):
        digits = re.sub(r"\D", "", text)
        if 10 < len(digits) <= 15:
            phone = parse_phone("+" + digits, region)
    if phone is None:
        first = _PHONE_SPLIT.split(text, maxsplit=1)[0].strip()
        if first and first != text:
            phone = parse_phone_cell(first, region)
    return phone
