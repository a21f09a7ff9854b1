"""Who a customer is, as a dispatcher would judge it.

The same person is dispatched again and again, typed by different people: "Asha Rao" and
"asha  rao", with a phone one day and without it the next. Two records are one customer when
the name and the address read the same (case, spacing and Unicode forms aside) and their
phones do not contradict each other. Different phones mean different people.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_AROUND_PUNCT = re.compile(r"\s*([,;/])\s*")


def name_key(name: str | None) -> str:
    """A name as it reads: Unicode-normalised, case-folded, spacing collapsed."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return _SPACES.sub(" ", text).strip()


def address_key(address: str | None) -> str:
    """An address as it reads: like a name, and "1 Station St , Pokhara." equals
    "1 station st, pokhara"."""
    text = _AROUND_PUNCT.sub(r"\1 ", name_key(address))
    return _SPACES.sub(" ", text).strip(" .,;")


def phone_digits(phone: str | None) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", phone or "") if ch.isdigit())


# The shortest number that can stand for a whole line once a country or trunk prefix is off.
SUBSCRIBER_DIGITS = 7


def same_phone(a: str | None, b: str | None) -> bool:
    """True when two phones are one number: the same digits, or one the other with a
    country or trunk prefix ("+977 984-1234567" and "9841234567")."""
    da, db = phone_digits(a), phone_digits(b)
    if da == db:
        return True
    short, long = sorted((da, db), key=len)
    return len(short) >= SUBSCRIBER_DIGITS and long.endswith(short)


def phones_agree(known: str | None, given: str | None) -> bool:
    """A missing phone on either side contradicts nothing."""
    if not phone_digits(known) or not phone_digits(given):
        return True
    return same_phone(known, given)


def same_customer(
    known_name: str,
    known_addresses: list[str],
    known_phone: str | None,
    name: str,
    address: str,
    phone: str | None,
) -> bool:
    """The matching rule: same name, one of their addresses, phones that agree."""
    if name_key(known_name) != name_key(name):
        return False
    if address_key(address) not in {address_key(a) for a in known_addresses}:
        return False
    return phones_agree(known_phone, phone)
