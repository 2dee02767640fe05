"""Cost per token from a price per hour and a measured throughput (pure: no I/O, no globals).

    $ per 1M tokens = price_per_hour / (tokens_per_second * 3600) * 1e6
    blended         = (3 * input + output) / 4        (a 3:1 input:output token mix)

Input cost uses the prefill speed (prompt tokens/s), output cost the decode speed, each at
the concurrency the user chose (aggregate tokens/s over all clients), so a server that
batches well gets cheaper per token. The machine is paid for while it works on either.

Prices in the tables below are public list prices, each with the page it was read from and
the date that page states. They change; the user sets their own with --price-per-hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from openscout.errors import ConstraintError

SECONDS_PER_HOUR = 3600.0
PER_MILLION = 1_000_000.0


@dataclass(frozen=True)
class InstancePrice:
    name: str
    price_per_hour: float  # USD, on-demand list price
    hardware: str
    source: str
    date: str  # the date the source gives for the price (YYYY-MM-DD or YYYY-MM)


@dataclass(frozen=True)
class ApiPrice:
    name: str
    input_per_m: float  # USD per 1M input tokens
    output_per_m: float  # USD per 1M output tokens
    source: str
    date: str

    @property
    def blended_per_m(self) -> float:
        return blended(self.input_per_m, self.output_per_m)


@dataclass(frozen=True)
class TokenCost:
    price_per_hour: float
    input_per_m: float | None
    output_per_m: float | None
    blended_per_m: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "price_per_hour": self.price_per_hour,
            "input_per_m": self.input_per_m,
            "output_per_m": self.output_per_m,
            "blended_per_m": self.blended_per_m,
        }


_AWS_2026 = "https://www.factualminds.com/blog/amazon-ec2-on-demand-pricing-instance-families-2026/"
_GPU_2026 = "https://techbytes.app/posts/serverless-gpu-pricing-matrix-modal-replicate-lambda-2026/"

INSTANCE_PRICES: tuple[InstancePrice, ...] = (
    InstancePrice(
        "aws-m7g.large", 0.0816, "2 vCPU (Graviton3), 8 GiB, us-east-1 Linux", _AWS_2026, "2026-06"
    ),
    InstancePrice(
        "aws-g5.xlarge",
        1.006,
        "1x NVIDIA A10G 24 GB, 4 vCPU, us-east-1 Linux",
        _AWS_2026,
        "2026-06",
    ),
    InstancePrice("lambda-1x-a10", 0.86, "1x NVIDIA A10 24 GB", _GPU_2026, "2026-05-07"),
    InstancePrice("lambda-1x-a100-40gb", 1.48, "1x NVIDIA A100 40 GB", _GPU_2026, "2026-05-07"),
    InstancePrice(
        "lambda-1x-h100-pcie", 2.86, "1x NVIDIA H100 PCIe 80 GB", _GPU_2026, "2026-05-07"
    ),
    InstancePrice("lambda-1x-h100-sxm", 3.78, "1x NVIDIA H100 SXM 80 GB", _GPU_2026, "2026-05-07"),
    InstancePrice(
        "modal-h100",
        3.9492,
        "1x NVIDIA H100 (serverless, billed per second)",
        _GPU_2026,
        "2026-05-07",
    ),
)

# "This machine": a small CPU box costs about what the cheapest comparable cloud VM does.
# We take the 2-vCPU, 8 GiB on-demand instance above; set your own with --price-per-hour.
DEFAULT_MACHINE = "aws-m7g.large"

API_PRICES: tuple[ApiPrice, ...] = (
    ApiPrice(
        "openai/gpt-4o-mini",
        0.15,
        0.60,
        "https://aimodelcalc.pages.dev/guides/openai-api-pricing.html",
        "2026-05",
    ),
    ApiPrice(
        "openai/gpt-4o",
        2.50,
        10.00,
        "https://aimodelcalc.pages.dev/guides/openai-api-pricing.html",
        "2026-05",
    ),
    ApiPrice(
        "anthropic/claude-haiku-4.5",
        1.00,
        5.00,
        "https://verticalapi.com/vs/claude-haiku-vs-gpt-mini-vs-gemini-flash/",
        "2026",
    ),
    ApiPrice(
        "google/gemini-2.0-flash",
        0.10,
        0.40,
        "https://getapipulse.com/blog-haiku-vs-flash.html",
        "2026",
    ),
)


@dataclass(frozen=True)
class HostedPrice:
    """What a provider charges to run an open model for you ("rent it"), per 1M tokens."""

    model: str  # the catalog (Hugging Face) id of the model served
    provider: str
    provider_model: str  # the provider's own name for it
    input_per_m: float
    output_per_m: float
    source: str
    date: str  # the date the source gives; "undated" when it gives none
    note: str = ""

    @property
    def blended_per_m(self) -> float:
        return blended(self.input_per_m, self.output_per_m)


_GROQ = "https://docs.rs/crate/aicost/latest/source/src/data/data_groq.rs"
_DEEPSEEK = "https://api-docs.deepseek.com/quick_start/pricing-details-usd"
_FIREWORKS = "https://www.getmaxim.ai/bifrost/llm-cost-calculator/provider/fireworks_ai.md"
_LAVA_DEEPINFRA = "https://lava-a04d7b3f.mintlify.dev/docs/gateway/providers/deepinfra"
_LAVA_SAMBANOVA = "https://www.lava.so/docs/gateway/providers/sambanova"
_CLOUDPRICE_LLAMA8B = "https://cloudprice.net/models/friendliai/meta-llama-3.1-8b-instruct"

# Only figures read in a stored copy of the page named. DeepSeek's, and the DeepInfra, Fireworks
# and OpenRouter model/pricing pages marked "own", are the providers' own pages; every other
# entry's note names the third-party table (aggregator, gateway, mirror) it was read from.
# Prices change: pass --api-price NAME=IN/OUT for today's.
HOSTED_PRICES: tuple[HostedPrice, ...] = (
    HostedPrice(
        "meta-llama/Llama-3.1-8B-Instruct",
        "Groq",
        "llama-3.1-8b-instant",
        0.05,
        0.08,
        _GROQ,
        "undated",
        "aicost 0.2.4's Groq table (input_normal 0.05, output_normal 0.08)",
    ),
    HostedPrice(
        "meta-llama/Llama-3.3-70B-Instruct",
        "Groq",
        "llama-3.3-70b-versatile",
        0.59,
        0.79,
        _GROQ,
        "undated",
        "aicost 0.2.4's Groq table (input_normal 0.59, output_normal 0.79)",
    ),
    HostedPrice(
        "deepseek-ai/DeepSeek-V3",
        "DeepSeek",
        "deepseek-chat",
        0.27,
        1.10,
        _DEEPSEEK,
        "undated",
        "DeepSeek's own table, 64K context; input on a cache miss ($0.07 on a hit)",
    ),
    HostedPrice(
        "deepseek-ai/DeepSeek-R1",
        "DeepSeek",
        "deepseek-reasoner",
        0.55,
        2.19,
        _DEEPSEEK,
        "undated",
        "DeepSeek's own table, 64K context; input on a cache miss ($0.14 on a hit)",
    ),
    HostedPrice(
        "deepseek-ai/DeepSeek-V3",
        "Fireworks AI",
        "deepseek-v3",
        0.90,
        0.90,
        _FIREWORKS,
        "undated",
        "Bifrost's LLM cost calculator, Fireworks AI model table",
    ),
    HostedPrice(
        "deepseek-ai/DeepSeek-R1",
        "Fireworks AI",
        "deepseek-r1",
        3.00,
        8.00,
        _FIREWORKS,
        "undated",
        "Bifrost's LLM cost calculator, Fireworks AI model table",
    ),
    HostedPrice(
        "Qwen/Qwen2.5-7B-Instruct",
        "OpenRouter",
        "qwen/qwen-2.5-7b-instruct",
        0.27,
        0.27,
        "https://github.com/rifx-online/rifx.online/blob/bc9fa9c45db6ea7c9215c82d867f45a6317cbf9c/src/content/models/english/qwen-2.5-7b-instruct.md",
        "2024-10-16",
        "a site listing OpenRouter models: input 2.7e-07, output 2.7e-07 ($ per token)",
    ),
    # --- Providers' own pages (stored copies; the page gives no date) ---
    HostedPrice(
        "meta-llama/Llama-3.1-8B-Instruct",
        "DeepInfra",
        "meta-llama/Meta-Llama-3.1-8B-Instruct",
        0.055,
        0.055,
        "https://deepinfra.com/meta-llama/Meta-Llama-3.1-8B-Instruct/api",
        "undated",
        'DeepInfra\'s own model page: "$0.055 / Mtoken", bfloat16, one price for input and output',
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-70B-Instruct",
        "DeepInfra",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
        0.13,
        0.40,
        "https://deepinfra.com/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo/api",
        "undated",
        'DeepInfra\'s own model page: "$0.13/$0.40 in/out Mtoken", served in fp8 (Turbo)',
    ),
    HostedPrice(
        "meta-llama/Llama-3.3-70B-Instruct",
        "DeepInfra",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        0.13,
        0.38,
        "https://deepinfra.com/meta-llama/Llama-3.3-70B-Instruct-Turbo/api",
        "undated",
        'DeepInfra\'s own model page: "$0.13 in $0.38 out"; the Turbo endpoint is FP8-quantized',
    ),
    HostedPrice(
        "Qwen/Qwen2.5-7B-Instruct",
        "DeepInfra",
        "Qwen/Qwen2.5-7B-Instruct",
        0.025,
        0.05,
        "https://deepinfra.com/Qwen/Qwen2.5-7B-Instruct/api",
        "undated",
        'DeepInfra\'s own model page: "$0.025/$0.05 in/out Mtoken", bfloat16',
    ),
    HostedPrice(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "DeepInfra",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        0.24,
        0.24,
        "https://deepinfra.com/mistralai/Mixtral-8x7B-Instruct-v0.1/api",
        "undated",
        'DeepInfra\'s own model page: "$0.24 / Mtoken", bfloat16, one price for input and output',
    ),
    HostedPrice(
        "mistralai/Mistral-7B-Instruct-v0.2",  # not in the catalog (it has v0.1 and v0.3)
        "DeepInfra",
        "mistralai/Mistral-7B-Instruct-v0.2",
        0.07,
        0.07,
        "https://deepinfra.com/mistralai/Mistral-7B-Instruct-v0.2/api",
        "undated",
        'DeepInfra\'s own model page: "$0.07 / Mtoken", fp8, one price for input and output',
    ),
    HostedPrice(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "Fireworks AI",
        "mixtral-8x7b-instruct",
        0.50,
        0.50,
        "https://fireworks.ai/pricing",
        "undated",
        'Fireworks\' own pricing page (serverless): "MoE 0B - 56B (Mixtral 8x7B) $0.50" per 1M'
        " tokens, one price for all tokens",
    ),
    HostedPrice(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "OpenRouter",
        "mistralai/mixtral-8x7b-instruct",
        0.30,
        0.30,
        "https://openrouter.ai/models/mistralai/mixtral-8x7b-instruct",
        "undated",
        'OpenRouter\'s own model page: "$0.3 / 1M input tokens $0.3 / 1M output tokens"',
    ),
    # --- Secondary sources (aggregators, gateways, mirrors), labelled in the note ---
    HostedPrice(
        "microsoft/phi-4",
        "DeepInfra",
        "microsoft/phi-4",
        0.07,
        0.14,
        "https://artificialanalysis.ai/models/phi-4/providers",
        "undated",
        'Artificial Analysis (aggregator), Phi-4 on DeepInfra: "Input Token Price: $0.07 and an'
        ' Output Token Price: $0.14"',
    ),
    HostedPrice(
        "meta-llama/Llama-3.3-70B-Instruct",
        "DeepInfra",
        "meta-llama/Llama-3.3-70B-Instruct",
        0.23,
        0.40,
        _LAVA_DEEPINFRA,
        "undated",
        "Lava AI Gateway's DeepInfra table (secondary): \"meta-llama/Llama-3.3-70B-Instruct"
        ' $0.23 $0.40" input/output per 1M',
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-70B-Instruct",
        "DeepInfra",
        "meta-llama/Meta-Llama-3.1-70B-Instruct",
        0.23,
        0.40,
        _LAVA_DEEPINFRA,
        "undated",
        "Lava AI Gateway's DeepInfra table (secondary): \"meta-llama/Meta-Llama-3.1-70B-Instruct"
        ' $0.23 $0.40" input/output per 1M',
    ),
    HostedPrice(
        "Qwen/Qwen2.5-72B-Instruct",
        "DeepInfra",
        "Qwen/Qwen2.5-72B-Instruct",
        0.12,
        0.39,
        _LAVA_DEEPINFRA,
        "undated",
        'Lava AI Gateway\'s DeepInfra table (secondary): "Qwen/Qwen2.5-72B-Instruct $0.12 $0.39"'
        " input/output per 1M",
    ),
    HostedPrice(
        "google/gemma-3-27b-it",
        "DeepInfra",
        "google/gemma-3-27b-it",
        0.10,
        0.19,
        _LAVA_DEEPINFRA,
        "undated",
        'Lava AI Gateway\'s DeepInfra table (secondary): "google/gemma-3-27b-it $0.10 $0.19"'
        " input/output per 1M",
    ),
    HostedPrice(
        "deepseek-ai/DeepSeek-V3",
        "DeepInfra",
        "deepseek-ai/DeepSeek-V3",
        0.38,
        0.89,
        _LAVA_DEEPINFRA,
        "undated",
        'Lava AI Gateway\'s DeepInfra table (secondary): "deepseek-ai/DeepSeek-V3 $0.38 $0.89"'
        " input/output per 1M",
    ),
    HostedPrice(
        "deepseek-ai/DeepSeek-R1",
        "DeepInfra",
        "deepseek-ai/DeepSeek-R1",
        0.70,
        2.40,
        _LAVA_DEEPINFRA,
        "undated",
        'Lava AI Gateway\'s DeepInfra table (secondary): "deepseek-ai/DeepSeek-R1 $0.70 $2.40"'
        " input/output per 1M",
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-8B-Instruct",
        "SambaNova",
        "Meta-Llama-3.1-8B-Instruct",
        0.10,
        0.20,
        _LAVA_SAMBANOVA,
        "undated",
        "Lava AI Gateway's SambaNova table (secondary): \"Meta-Llama-3.1-8B-Instruct | $0.10 |"
        ' $0.20" input/output per 1M',
    ),
    HostedPrice(
        "meta-llama/Llama-3.3-70B-Instruct",
        "SambaNova",
        "Meta-Llama-3.3-70B-Instruct",
        0.60,
        1.20,
        _LAVA_SAMBANOVA,
        "undated",
        "Lava AI Gateway's SambaNova table (secondary): \"Meta-Llama-3.3-70B-Instruct | $0.60 |"
        ' $1.20" input/output per 1M',
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-8B-Instruct",
        "Amazon Bedrock",
        "meta.llama3-1-8b-instruct-v1:0",
        0.22,
        0.22,
        _CLOUDPRICE_LLAMA8B,
        "undated",
        "cloudprice.net (aggregator) 'Pricing by Provider', standard tier: $0.22 input, $0.22"
        " output per 1M (batch $0.11/$0.11)",
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-8B-Instruct",
        "Databricks",
        "databricks-meta-llama-3-1-8b-instruct",
        0.15,
        0.45,
        _CLOUDPRICE_LLAMA8B,
        "undated",
        "cloudprice.net (aggregator) 'Pricing by Provider': $0.15 input, $0.45 output per 1M",
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-8B-Instruct",
        "Cloudflare Workers AI",
        "@cf/meta/llama-3.1-8b-instruct",
        0.282,
        0.827,
        _CLOUDPRICE_LLAMA8B,
        "undated",
        "cloudprice.net (aggregator) 'Pricing by Provider': $0.282 input, $0.827 output per 1M",
    ),
    HostedPrice(
        "mistralai/Mistral-7B-Instruct-v0.3",
        "DeepInfra",
        "mistralai/mistral-7b-instruct",
        0.028,
        0.054,
        "https://sg.langmart.ai/model-docs/models/mistralai_mistral-7b-instruct.html",
        "2025-12-23",
        "LangMart model doc (secondary; 'Last Updated: 2025-12-23'): endpoint is the latest"
        " version (currently v0.3), bf16 on DeepInfra, input $0.028, output $0.054 per 1M",
    ),
    HostedPrice(
        "google/gemma-2-27b-it",
        "OpenRouter",
        "google/gemma-2-27b-it",
        0.65,
        0.65,
        "https://amlak-ai.pages.dev/google/gemma-2-27b-it/api",
        "undated",
        'a mirror of OpenRouter\'s model page (secondary): "Input Price $0.65 per 1M", "Output'
        ' Price $0.65 per 1M"',
    ),
    HostedPrice(
        "mistralai/Mistral-Nemo-Instruct-2407",
        "OpenRouter",
        "mistral-nemo",
        0.02,
        0.03,
        "https://aicoach.pw/marketplace/llm/mistral-nemo",
        "undated",
        'a marketplace listing OpenRouter models (secondary): Mistral Nemo "Input $0.020 per'
        ' MTok", "Output $0.030 per MTok"',
    ),
    HostedPrice(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "Mistral AI",
        "open-mixtral-8x7b",
        0.70,
        0.70,
        "https://gist.github.com/sj82516/862bed5e43648beef473a0635111c65f",
        "2024-03-04",
        "a public gist's price table (secondary; 'Last active March 4, 2024'): \"Mixtral 8x7B |"
        ' $0.7 / 1M tokens | $0.7 / 1M tokens"',
    ),
    HostedPrice(
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "Together AI",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        0.60,
        0.60,
        "https://www.getmaxim.ai/bifrost/llm-cost-calculator/provider/together_ai/model/mixtral-8x7b-instruct-v0.1.md",
        "undated",
        "Bifrost's LLM cost calculator (secondary): \"Input costs $0.60 and output $0.60 per 1M"
        ' tokens"',
    ),
    HostedPrice(
        "meta-llama/Llama-3.1-70B-Instruct",
        "Together AI",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
        0.88,
        0.88,
        "https://www.getmaxim.ai/bifrost/llm-cost-calculator/provider/together_ai/model/meta-llama-3.1-70b-instruct-turbo",
        "undated",
        'Bifrost\'s LLM cost calculator (secondary): "Input Cost $0.88 per 1M tokens", "Output'
        ' Cost $0.88 per 1M tokens"',
    ),
)


def hosted_prices_for(model_id: str | None) -> list[HostedPrice]:
    """Providers' prices for one open model (catalog id, case-insensitive), cheapest first."""
    if not model_id:
        return []
    key = model_id.lower()
    found = [p for p in HOSTED_PRICES if p.model.lower() == key]
    return sorted(found, key=lambda p: p.blended_per_m)


def per_million(price_per_hour: float, tokens_per_second: float | None) -> float | None:
    """$ per 1M tokens at this hourly price and throughput; None when speed is unknown."""
    if price_per_hour < 0:
        raise ConstraintError(f"a price per hour cannot be negative (got {price_per_hour})")
    if tokens_per_second is None or tokens_per_second <= 0:
        return None
    return price_per_hour / (tokens_per_second * SECONDS_PER_HOUR) * PER_MILLION


def blended(input_per_m: float, output_per_m: float) -> float:
    """The 3:1 input:output blend the field reports."""
    return (3.0 * input_per_m + output_per_m) / 4.0


def token_cost(
    price_per_hour: float, prefill_tps: float | None, output_tps: float | None
) -> TokenCost:
    inp = per_million(price_per_hour, prefill_tps)
    out = per_million(price_per_hour, output_tps)
    blend = blended(inp, out) if inp is not None and out is not None else None
    return TokenCost(price_per_hour, inp, out, blend)


def instance_price(name: str) -> InstancePrice:
    for p in INSTANCE_PRICES:
        if p.name == name:
            return p
    known = ", ".join(p.name for p in INSTANCE_PRICES)
    raise ConstraintError(
        f"no price known for instance {name!r}", hint=f"known: {known}; or pass --price-per-hour"
    )


# where the price of a model that runs elsewhere, without its own, comes from: nowhere
UNPRICED = "unknown: it runs elsewhere (models add --price-per-hour)"


def default_machine_price() -> InstancePrice:
    return instance_price(DEFAULT_MACHINE)


# $ per 1M tokens: far beyond any API's list price (inf and 1e308 overflowed the comparison,
# sixteenth probe)
MAX_PRICE_PER_M = 1e6


def parse_api_price(text: str) -> ApiPrice:
    """'NAME=IN/OUT' (USD per 1M tokens), e.g. 'my-endpoint=0.2/0.8', entered by the user."""
    name, sep, rest = text.partition("=")
    parts = rest.split("/")
    try:
        if not sep or not name.strip() or len(parts) != 2:
            raise ValueError
        inp, out = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConstraintError(
            f"cannot read the API price {text!r}",
            hint="write NAME=INPUT/OUTPUT in $ per 1M tokens, e.g. api=0.15/0.6",
        ) from None
    if not (0 <= inp <= MAX_PRICE_PER_M and 0 <= out <= MAX_PRICE_PER_M):  # nan fails too
        raise ConstraintError(
            f"API prices are numbers from 0 to {MAX_PRICE_PER_M:,.0f}: {text!r}",
            hint="write NAME=INPUT/OUTPUT in $ per 1M tokens, e.g. api=0.15/0.6",
        )
    return ApiPrice(name.strip(), inp, out, "entered by the user", "")
