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


def _osi(spdx: str, name: str, url: str, kind: Kind = "permissive", *aliases: str) -> License:
    return License(spdx, name, url, kind, True, "yes", spdx, (), aliases)


_LLAMA_AUP = "Acceptable Use Policy forbids listed uses; it binds every derivative"
_LLAMA_CAP = "products with over 700 million monthly active users need a separate licence from Meta"
_LLAMA_MODELS = "https://github.com/meta-llama/llama-models/blob/main/models"


def _llama(lid: str, version: str, url: str, naming: str) -> License:
    """The Llama 3.x and 4 community licences share their terms; they differ in naming rules."""
    return License(
        lid,
        f"{version} Community License Agreement",
        url,
        "restricted",
        False,
        "conditional",
        None,
        (_LLAMA_CAP, _LLAMA_AUP, naming),
    )


_LICENSES: tuple[License, ...] = (
    _osi(
        "Apache-2.0",
        "Apache License 2.0",
        "https://opensource.org/license/apache-2-0",
        "permissive",
        "apache 2.0",
        "apache license 2.0",
        "apache2",
        "apache",
    ),
    _osi("MIT", "MIT License", "https://opensource.org/license/mit", "permissive", "mit license"),
    _osi("BSD-3-Clause", "BSD 3-Clause License", "https://opensource.org/license/bsd-3-clause"),
    _osi(
        "GPL-3.0-only",
        "GNU General Public License v3.0",
        "https://opensource.org/license/gpl-3-0",
        "copyleft",
        "gpl-3.0",
        "gpl3",
    ),
    License(
        "CC-BY-4.0",
        "Creative Commons Attribution 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
        "open-data",
        False,
        "yes",
        "CC-BY-4.0",
        ("attribution required",),
        ("cc by 4.0",),
    ),
    License(
        "CC-BY-SA-4.0",
        "Creative Commons Attribution-ShareAlike 4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/",
        "open-data",
        False,
        "yes",
        "CC-BY-SA-4.0",
        ("attribution required", "derivatives under the same licence"),
    ),
    License(
        "ODC-BY-1.0",
        "Open Data Commons Attribution License 1.0",
        "https://opendatacommons.org/licenses/by/1-0/",
        "open-data",
        False,
        "yes",
        "ODC-By-1.0",
        ("attribution required",),
        ("odc-by",),
    ),
    License(
        "CC-BY-NC-4.0",
        "Creative Commons Attribution-NonCommercial 4.0",
        "https://creativecommons.org/licenses/by-nc/4.0/",
        "non-commercial",
        False,
        "no",
        "CC-BY-NC-4.0",
        ("no commercial use",),
        ("cc by-nc 4.0",),
    ),
    License(
        "llama2",
        "Llama 2 Community License Agreement",
        "https://ai.meta.com/llama/license/",
        "restricted",
        False,
        "conditional",
        None,
        (
            _LLAMA_CAP,
            _LLAMA_AUP,
            "outputs may not be used to improve other large language models"
            " (other than Llama 2 derivatives)",
        ),
        ("llama 2 community license", "llama-2"),
    ),
    _llama(
        "llama3",
        "Meta Llama 3",
        "https://llama.meta.com/llama3/license/",
        "derivatives must carry 'Llama 3' in their name and display 'Built with Meta Llama 3'",
    ),
    _llama(
        "llama3.1",
        "Llama 3.1",
        f"{_LLAMA_MODELS}/llama3_1/LICENSE",
        "derivatives must be named 'Llama ...' and display 'Built with Llama'",
    ),
    _llama(
        "llama3.2",
        "Llama 3.2",
        f"{_LLAMA_MODELS}/llama3_2/LICENSE",
        "derivatives must display 'Built with Llama'",
    ),
    _llama(
        "llama3.3",
        "Llama 3.3",
        f"{_LLAMA_MODELS}/llama3_3/LICENSE",
        "derivatives must display 'Built with Llama'",
    ),
    _llama(
        "llama4",
        "Llama 4",
        f"{_LLAMA_MODELS}/llama4/LICENSE",
        "derivatives must display 'Built with Llama' and models trained on it be named 'Llama ...'",
    ),
    License(
        "gemma",
        "Gemma Terms of Use",
        "https://ai.google.dev/gemma/terms",
        "restricted",
        False,
        "conditional",
        None,
        (
            "the Gemma Prohibited Use Policy applies and must be passed on"
            " to every user and derivative",
            "Google may restrict (remotely or otherwise) usage it believes violates the terms",
            "derivatives must be distributed under the same use restrictions",
        ),
        ("gemma terms of use",),
    ),
    License(
        "nvidia-open-model-license",
        "NVIDIA Open Model License Agreement",
        "https://www.nvidia.com/en-us/agreements/enterprise-software/nvidia-open-model-license/",
        "restricted",
        False,
        "conditional",
        None,
        (
            "the licence ends if guardrails or safety measures of the model are bypassed"
            " without an equivalent replacement",
            "NVIDIA's Trustworthy AI terms apply; the licence lets NVIDIA update its terms",
            "redistribution must carry the licence and an attribution notice",
        ),
        ("nvidia open model license",),
    ),
    License(
        "qwen",
        "Qwen License Agreement (Tongyi Qianwen)",
        "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "products with over 100 million monthly active users need"
            " a separate licence from Alibaba Cloud",
            "derivatives must display 'Built with Qwen' / carry the licence",
        ),
        ("tongyi-qianwen",),
    ),
    License(
        "qwen-research",
        "Qwen Research License Agreement",
        "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
        "non-commercial",
        False,
        "no",
        None,
        ("research and non-commercial use only; commercial use needs a separate licence",),
    ),
    License(
        "deepseek",
        "DeepSeek License Agreement (model)",
        "https://github.com/deepseek-ai/DeepSeek-LLM/blob/main/LICENSE-MODEL",
        "restricted",
        False,
        "conditional",
        None,
        ("use-based restrictions (Attachment A) apply and must be passed on to derivatives",),
    ),
    License(
        "falcon-180b",
        "Falcon-180B TII License 1.0",
        "https://huggingface.co/spaces/tiiuae/falcon-180b-license/blob/main/LICENSE.txt",
        "restricted",
        False,
        "conditional",
        None,
        (
            "hosting use (offering the model as a service) needs a separate licence from TII",
            "the Acceptable Use Policy applies",
        ),
    ),
    License(
        "bigscience-bloom-rail-1.0",
        "BigScience BLOOM RAIL License 1.0",
        "https://huggingface.co/spaces/bigscience/license",
        "restricted",
        False,
        "conditional",
        None,
        ("use-based restrictions (Attachment A) apply and must be passed on to derivatives",),
        ("bloom rail", "rail"),
    ),
    License(
        "bigcode-openrail-m",
        "BigCode OpenRAIL-M v1",
        "https://www.bigcode-project.org/docs/pages/bigcode-openrail/",
        "restricted",
        False,
        "conditional",
        None,
        ("use-based restrictions (Attachment A) apply and must be passed on to derivatives",),
    ),
    License(
        "openrail",
        "Open RAIL (unspecified variant)",
        "https://www.licenses.ai/",
        "restricted",
        False,
        "conditional",
        None,
        ("use-based restrictions apply; read the model's licence text",),
        ("openrail-m", "creativeml-openrail-m"),
    ),
    License(
        "CC-BY-NC-SA-4.0",
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/",
        "non-commercial",
        False,
        "no",
        "CC-BY-NC-SA-4.0",
        ("no commercial use", "attribution required", "adaptations under the same licence"),
        ("cc by-nc-sa 4.0",),
    ),
    License(
        "apple-amlr",
        "Apple Machine Learning Research Model License Agreement",
        "https://huggingface.co/apple/OpenELM-3B/discussions/1/files",
        "non-commercial",
        False,
        "no",
        None,
        (
            "use exclusively for research purposes (non-commercial scientific research and"
            " academic development); no commercial use, product development or use in a"
            " commercial product or service",
            "derivatives stay research-only, must say they are derivatives and carry Apple's"
            " attribution notice",
        ),
        ("apple machine learning research model license",),
    ),
    License(
        "apple-sample-code",
        "Apple Sample Code License",
        # pinned: OpenELM's LICENSE files hold the research-only AMLR text since 2025
        "https://huggingface.co/apple/OpenELM-270M-Instruct/tree/255f07ff3d5a43bbf2e30dc4084b3d9d5b134f0d",
        "permissive",
        False,
        "yes",
        None,
        (
            "unmodified redistribution must keep Apple's notice and disclaimers",
            "Apple's names and marks may not promote derived products without permission",
        ),
        ("apple-sample-code-license",),
    ),
    License(
        "falcon-2.0",
        "TII Falcon License 2.0 (Falcon 2 11B TII License 1.0)",
        "https://open.windriver.com/info/uni-license-list/licenses/falcon-2-11b-1.0.html",
        "restricted",
        False,
        "conditional",
        None,
        (
            "use must comply with TII's Acceptable Use Policy, which TII may update from time to time",
            "Apache 2.0-based text with TII's modifications",
        ),
        ("tii falcon license 2.0", "falcon-2-11b-license", "falcon 2 11b tii license"),
    ),
    License(
        "falcon-llm-2.0",
        "TII Falcon-LLM License 2.0 (TII Falcon License, December 2024)",
        "https://falconllm.tii.ae/falcon-terms-and-conditions.html",
        "restricted",
        False,
        "conditional",
        None,
        (
            "use and outputs must comply with the latest Acceptable Use Policy, which TII may"
            " update; redistributors must pass its use restrictions on",
            "public statements about a derivative must say it is built using TII's technology",
        ),
        ("falcon-llm-license", "tii falcon-llm license 2.0", "falcon-llm license 2.0"),
    ),
    License(
        "mistral-research",
        "Mistral AI Research License (MRL)",
        "https://mistral.ai/licenses/MRL-0.1.md",
        "non-commercial",
        False,
        "no",
        None,
        (
            "research and non-commercial use only; commercial use needs a licence from Mistral AI",
            "redistribution must carry the licence",
        ),
        ("mrl", "mrl-0.1", "mistral ai research license"),
    ),
    License(
        "mistral-non-production",
        "Mistral AI Non-Production License (MNPL)",
        "https://mistral.ai/licenses/MNPL-0.1.md",
        "non-commercial",
        False,
        "no",
        None,
        (
            "testing, research, personal or evaluation use in non-production environments only",
            "no supply in a commercial activity, hosted service included, without a licence",
        ),
        ("mnpl", "mnpl-0.1", "mistral ai non-production license"),
    ),
    License(
        "devstral-modified-mit",
        "Modified MIT License (Mistral AI, Devstral 2)",
        "https://huggingface.co/mistralai/Devstral-2-123B-Instruct-2512/blob/main/LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "no rights for a company (or a user's employer) whose global consolidated monthly"
            " revenue exceeded $20 million; applies to derivatives too",
        ),
    ),
    License(
        "minimax-modified-mit",
        "Modified MIT License (MiniMax)",
        "https://github.com/MiniMax-AI/MiniMax-M2.5/blob/main/LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        ("commercial products or services using it must prominently show the model's name",),
    ),
    License(
        "kimi-modified-mit",
        "Modified MIT License (Moonshot AI, Kimi)",
        "https://github.com/MoonshotAI/Kimi-K2.5/blob/main/LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "commercial products with over 100 million monthly active users or over $20 million"
            " monthly revenue must prominently show the model's name",
        ),
    ),
    License(
        "dbrx",
        "Databricks Open Model License",
        "https://www.databricks.com/legal/open-model-license",
        "restricted",
        False,
        "conditional",
        None,
        (
            "products with over 700 million monthly active users need a separate licence"
            " from Databricks",
            "DBRX or its outputs may not be used to improve other large language models",
            "the Databricks Open Model Acceptable Use Policy applies",
        ),
        ("databricks open model license", "databricks-open-model-license"),
    ),
    License(
        "exaone",
        "EXAONE AI Model License Agreement (NC)",
        "https://huggingface.co/LGAI-EXAONE/EXAONE-Deep-2.4B-AWQ/raw/main/LICENSE",
        "non-commercial",
        False,
        "no",
        None,
        ("the non-commercial ('NC') edition of the agreement: no commercial use",),
        (
            "exaone ai model license agreement",
            "exaone ai model license agreement 1.1 - nc",
            "exaone ai model license agreement 1.2 - nc",
        ),
    ),
    License(
        "lfm-open-1.0",
        "LFM Open License v1.0",
        "https://docs.liquid.ai/lfm/getting-started/model-license",
        "restricted",
        False,
        "conditional",
        None,
        (
            "free commercial use only for companies with annual revenue under $10 million;"
            " above that a paid licence from Liquid AI is needed",
            "Apache 2.0-based; distribution needs attribution",
        ),
        ("lfm1.0", "lfm open license v1.0", "lfm-open-license"),
    ),
    License(
        "upstage-solar",
        "Upstage Solar License",
        "https://huggingface.co/upstage/Solar-Open-100B/blob/main/LICENSE",
        "permissive",
        False,
        "yes",
        None,
        ("Apache 2.0 terms, plus: a distributed derivative AI model must carry the 'Solar' brand",),
        ("upstage-solar-license", "upstage solar license"),
    ),
    License(
        "open-aleph",
        "Open Aleph License 1.0",
        "https://github.com/Aleph-Alpha/.github/blob/main/oal.pdf",
        "non-commercial",
        False,
        "no",
        None,
        ("non-commercial and non-administrative use only",),
        ("open-aleph-license", "open aleph license", "oal"),
    ),
    License(
        "ai-sweden-rail",
        "AI Sweden's LLM AI Model License Agreement (modified RAIL)",
        "https://huggingface.co/AI-Sweden-Models/gpt-sw3-6.7b/blob/main/LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        ("use must follow the agreement's Acceptable Use Policy (section 7)",),
        ("ai sweden's llm ai model license agreement", "ai sweden llm ai model license agreement"),
    ),
    License(
        "aquila",
        "BAAI Aquila Model License Agreement",
        "https://huggingface.co/BAAI/Aquila2-7B/resolve/c0615297f3df1d55f9f4a3101f277623f6be5dfa/"
        "BAAI-Aquila-Model-License%20-Agreement.pdf",
        "restricted",
        False,
        "conditional",
        None,
        (
            "commercial use allowed, subject to the agreement's listed use restrictions",
            "BAAI may revise the agreement; continuing to use the model accepts the revision",
        ),
        ("baai aquila model license agreement", "智源aquila系列模型许可协议"),
    ),
    License(
        "baichuan",
        "Baichuan-7B / Baichuan-13B Model (Community) License",
        "https://huggingface.co/baichuan-inc/Baichuan-7B/resolve/"
        "5d86e56a58fe4a5b3292cd9bb7468afef6f93eab/baichuan-7B%20%E6%A8%A1%E5%9E%8B"
        "%E8%AE%B8%E5%8F%AF%E5%8D%8F%E8%AE%AE.pdf",
        "restricted",
        False,
        "conditional",
        None,
        (
            "granted for non-commercial use; commercial use needs prior registration and"
            " written authorisation from Baichuan",
            "no military or unlawful use; recipients must get the licence and the model's origin",
        ),
        (
            "baichuan-7b 模型许可协议",
            "baichuan-13b 模型社区许可协议",
            "community license for baichuan-13b model",
        ),
    ),
    License(
        "chatglm",
        "The ChatGLM-6B / ChatGLM2-6B License",
        "https://github.com/THUDM/ChatGLM2-6B/blob/main/MODEL_LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "revocable licence; no military or unlawful use, nor use against China's national"
            " security or the public interest",
        ),
        ("the chatglm-6b license", "the chatglm2-6b license"),
    ),
    License(
        "chatglm3",
        "The ChatGLM3-6B License",
        "https://github.com/THUDM/ChatGLM3/blob/main/MODEL_LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "free for academic research; commercial use (free) only after registering with Zhipu",
            "no military or unlawful use",
        ),
        ("the chatglm3-6b license",),
    ),
    License(
        "codegeex4",
        "The CodeGeeX4 License",
        "https://github.com/THUDM/CodeGeeX4/blob/main/MODEL_LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "free for academic research; commercial use (free) only after registering with Zhipu",
            "products must show 'Built with CodeGeeX4'; models trained from it must be named"
            " 'CodeGeeX4...'",
            "no military or unlawful use",
        ),
        ("the codegeex4 license",),
    ),
    License(
        "yayi2",
        "YAYI 2 Community License (雅意 YAYI 2 模型社区许可协议)",
        "https://github.com/wenge-research/YAYI2/blob/main/COMMUNITY_LICENSE",
        "restricted",
        False,
        "conditional",
        None,
        (
            "granted for non-commercial use; commercial use or provision to third parties needs"
            " prior registration and written authorisation from Wenge",
            "no military or unlawful use; the licensor may update the agreement",
        ),
        ("yayi 2 community license", "yayi2 community license"),
    ),
    License(
        "stable-beluga-non-commercial",
        "Stable Beluga Non-Commercial Community License Agreement",
        "https://huggingface.co/stabilityai/StableBeluga-13B/blob/main/LICENSE.txt",
        "non-commercial",
        False,
        "no",
        None,
        ("non-commercial licence, revocable by Stability AI",),
        ("stable beluga non-commercial community license agreement",),
    ),
    License(
        "unknown",
        "unknown licence",
        "https://huggingface.co/docs/hub/repositories-licenses",
        "unknown",
        False,
        "unknown",
        None,
        ("licence not stated; assume no rights",),
        ("other", "none", ""),
    ),
)

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
