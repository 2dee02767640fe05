"""The licence record (`License`) and the two helpers the table builds its entries with;
the table is licence_records.py, the look-up API licenses.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Commercial = Literal["yes", "conditional", "no", "unknown"]
Kind = Literal["permissive", "copyleft", "open-data", "restricted", "non-commercial", "unknown"]


@dataclass(frozen=True)
class License:
    id: str  # SPDX id where one exists, else a stable slug (the Hub's licence tag where it has one)
    name: str
    url: str
    kind: Kind
    osi_approved: bool
    commercial_use: Commercial
    spdx: str | None = None
    restrictions: tuple[str, ...] = field(default_factory=tuple)
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def free(self) -> bool:
        """No use restrictions and commercial use allowed: what 'open' requires of a licence."""
        return self.kind in ("permissive", "copyleft", "open-data") and self.commercial_use == "yes"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "spdx": self.spdx,
            "url": self.url,
            "kind": self.kind,
            "osi_approved": self.osi_approved,
            "commercial_use": self.commercial_use,
            "restrictions": list(self.restrictions),
        }


def osi_licence(
    spdx: str, name: str, url: str, kind: Kind = "permissive", *aliases: str
) -> License:
    return License(spdx, name, url, kind, True, "yes", spdx, (), aliases)


LLAMA_AUP = "Acceptable Use Policy forbids listed uses; it binds every derivative"
LLAMA_CAP = "products with over 700 million monthly active users need a separate licence from Meta"
LLAMA_MODELS = "https://github.com/meta-llama/llama-models/blob/main/models"


def llama_licence(lid: str, version: str, url: str, naming: str) -> License:
    """The Llama 3.x and 4 community licences share their terms; they differ in naming rules."""
    return License(
        lid,
        f"{version} Community License Agreement",
        url,
        "restricted",
        False,
        "conditional",
        None,
        (LLAMA_CAP, LLAMA_AUP, naming),
    )
