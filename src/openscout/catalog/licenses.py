"""Model licences: SPDX normalisation, OSI approval, commercial use and use restrictions.

The table is curated from the licence texts (URLs below). `kind` sorts licences into what
matters when choosing a model:

    permissive / copyleft   software licences without use restrictions; OSI-approved ones
                            (Apache-2.0, MIT, GPL) and a few custom ones that only ask for notices
                            or attribution (Apple's sample-code licence). `osi_approved` says
                            which: a non-OSI permissive licence never makes a model "open source"
    open-data               open content licences (CC-BY, ODC-BY): no use restrictions, not OSI
    restricted              custom model licences that allow commercial use but restrict how
                            the model may be used (acceptable-use policies, user or revenue caps,
                            registration or an application first, RAIL)
    non-commercial          research or non-commercial use only
    unknown                 we could not tell; never treated as open

Immutable constants only: the openness scorer stays pure.
"""

from __future__ import annotations

import re

from openscout.catalog.licence import Commercial, Kind, License
from openscout.catalog.licence_records import RECORDS as _LICENSES

__all__ = ["LICENSES", "Commercial", "Kind", "License", "get_license", "normalize_license"]

LICENSES: dict[str, License] = {lic.id: lic for lic in _LICENSES}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9.+]", "", text.lower())


_ALIASES: dict[str, str] = {}
for _lic in _LICENSES:
    for _name in (_lic.id, _lic.name, _lic.spdx or "", *_lic.aliases):
        if _name or _lic.id == "unknown":
            _ALIASES.setdefault(_key(_name), _lic.id)


def normalize_license(name: str | None) -> str:
    """Licence name, SPDX id or Hub tag ('license:apache-2.0') -> our id; 'unknown' if unsure."""
    if not name:
        return "unknown"
    text = name.strip()
    if text.lower().startswith("license:"):
        text = text.split(":", 1)[1]
    return _ALIASES.get(_key(text), "unknown")


def get_license(license_id: str | None) -> License:
    """The licence record for an id or name; the 'unknown' record if we don't know it."""
    if license_id in LICENSES:
        return LICENSES[license_id]
    return LICENSES[normalize_license(license_id)]
