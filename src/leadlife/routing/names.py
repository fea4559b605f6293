"""Company names as keys: two spellings of one company give the same key.

:func:`normalize_company` is what the existing-account router compares a lead's
``company`` with. It folds the differences people type without meaning anything
(case, full-width forms, punctuation, spacing, legal form) and nothing more: it does
not guess abbreviations or translate between scripts.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["CHINESE_LEGAL_SUFFIXES", "LEGAL_SUFFIXES", "normalize_company"]

LEGAL_SUFFIXES = frozenset(
    {
        "ab",
        "ag",
        "as",
        "bhd",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "inc",
        "incorporated",
        "kft",
        "kg",
        "kk",
        "limited",
        "llc",
        "llp",
        "lp",
        "ltd",
        "nv",
        "oy",
        "plc",
        "pte",
        "pty",
        "pvt",
        "sa",
        "sarl",
        "sas",
        "sdn",
        "spa",
        "srl",
        "ug",
    }
)
"""Legal forms dropped from the end of a name, as whole words after normalization."""

CHINESE_LEGAL_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团",
    "公司",
)
"""Legal forms dropped from the end of a name, longest first (no word boundary needed)."""

_BRANCH = "分公司"
# Spaces between two CJK characters carry no meaning ("北京 字节跳动" is "北京字节跳动").
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
# "s a", "b v", "k k": what dotted abbreviations (S.A., B.V., K.K.) become without dots.
_LETTER_RUN = re.compile(r"(?<![^\s])[a-z](?: [a-z])+(?![^\s])")


def _keep(char: str) -> str:
    """Letters, marks and digits stay; punctuation and symbols split words; controls go."""
    if char.isalnum() or char.isspace():
        return char
    kind = unicodedata.category(char)[0]
    if kind in "PS":
        return " "
    return "" if kind == "C" else char


_ASCII_KEEP = {
    code: replacement for code in range(128) if (replacement := _keep(chr(code))) != chr(code)
}
"""What :func:`_keep` does to each ASCII character, as a ``str.translate`` table."""


@lru_cache(maxsize=65_536)
def normalize_company(name: str) -> str:
    """The key of a company name: ``"Acme Media Co., Ltd."`` and ``"acme media"`` share one.

    In order: NFKC (full-width brackets and commas become ASCII), case folding,
    punctuation and symbols of any script (the ideographic comma ``、`` too) replaced
    by spaces, spacing collapsed, spaces between CJK characters removed, runs of
    single letters joined (``s a`` from ``S.A.`` becomes ``sa``), then legal forms
    stripped from the
    end again and again: the words of :data:`LEGAL_SUFFIXES` (``co ltd``) and the
    endings of :data:`CHINESE_LEGAL_SUFFIXES` (``集团有限公司``). So
    ``"北京字节跳动科技有限公司"`` and ``"北京字节跳动科技"`` share a key.

    A branch (a name ending in ``分公司``) is kept whole: it is not its parent's
    name with a legal suffix, so it matches only a branch listed under that name.

    A name that is nothing but legal forms or punctuation (``"Ltd."``) gives ``""``;
    callers must treat ``""`` as "no name", never as a key that matches. Idempotent:
    normalizing a key gives the key.
    """
    if name.isascii():
        # Most names are ASCII: NFKC changes nothing there and one table does _keep's work
        # (only needed when there is something other than letters, digits and spaces).
        text = name.lower()
        if not text.replace(" ", "").isalnum():
            text = text.translate(_ASCII_KEEP)
        text = " ".join(text.split())
    else:
        # NFKC again after case folding: folding can leave text NFKC would change.
        text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
        text = " ".join("".join(map(_keep, text)).split())
        text = _CJK_GAP.sub("", text)
    if " " in text and any(len(word) == 1 for word in text.split(" ")):
        text = _LETTER_RUN.sub(lambda m: m.group().replace(" ", ""), text)
    while text:
        stripped = _strip_suffix(text)
        if stripped == text:
            break
        text = stripped
    return text


def _strip_suffix(text: str) -> str:
    """``text`` without one legal form at its end (unchanged if it has none)."""
    head, _, last = text.rpartition(" ")
    if last in LEGAL_SUFFIXES:
        return head
    if text.endswith(_BRANCH):
        return text
    for suffix in CHINESE_LEGAL_SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)].rstrip()
    return text
