"""What `openscout compare` returns: one typed result, read by attribute in the report, the
CLI and the server, and turned into JSON in one place (`CompareResult.to_json`).

The JSON keeps the shape `openscout compare --json` and report.json have always had (version
RESULT_VERSION); tests/report/test_compare_json.py pins its keys and their order. Reading a
stored report back (`CompareResult.from_json`) is tolerant: fields a report from another
version of openscout lacks take their defaults, fields it adds are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from openscout.catalog.rank_agreement import RankAgreement
from openscout.evals.stats import undecided_by_failures
from openscout.perf.cost import ApiPrice, HostedPrice, TokenCost
from openscout.perf.measure import DepthPoint, PromptStats, SweepPoint
from openscout.recommend import Recommendation, Weights

if TYPE_CHECKING:
    from openscout.perf.bench import ModelBench

RESULT_VERSION = 1


def no_recommendation() -> Recommendation:
    """What a result holds before (or without) a ranking: no model recommended, no reasons."""
    return Recommendation(None, [], [], {}, [], "")


# reports are read back by the server, whichever openscout version wrote them
_STORED = ConfigDict(frozen=True, extra="ignore")


class QualityScore(BaseModel):
    """One model's score on the quality suite, with its 95% interval and sample size."""

    model_config = _STORED

    suite: str | None
    score: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    failed: int = 0  # items left out of the score
    # how multiple-choice items were scored: loglikelihood | generate | mixed | None
    scoring: str | None = None


class OpennessFacts(BaseModel):
    """Openness and licence facts from the catalog (or from the registered licence alone)."""

    model_config = _STORED

    label: str | None = None  # open source | open weights | restricted weights
    mof_class: str | None = None  # "I" | "II" | "III" | "none"
    osi_approved: bool | None = None
    commercial_use: bool | None = None
    commercial_terms: str | None = None  # the catalog's yes | conditional | no | unknown
    catalog_id: str | None = None
    criteria: dict[str, str] = Field(default_factory=dict)  # criterion -> status


class FitFacts(BaseModel):
    """Whether a local model fits this machine's memory (or a target's) at its context size."""

    model_config = _STORED

    verdict: str | None = None
    required_bytes: int | None = None
    available_bytes: int | None = None
    context: int | None = None
    estimated_tps: float | None = None
    machine: str | None = None  # the machine judged: "this machine" or a target's name


class BenchRecord(BaseModel):
    """perf.bench's measurement of one model, in the shape ModelBench.as_dict() gives."""

    model_config = _STORED

    model_id: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    prompts: dict[str, PromptStats] = Field(default_factory=dict)
    sweep: list[SweepPoint] = Field(default_factory=list)
    memory_bytes: int | None = None
    memory_method: str | None = None
    load_s: float | None = None
    bandwidth_gbs: float | None = None
    weight_bytes: int | None = None
    depths: list[DepthPoint] = Field(default_factory=list)
    rated_bandwidth_gbs: float | None = None
    output_tps: float | None = None
    ttft_s: float | None = None
    prefill_tps: float | None = None
    mbu: float | None = None
    mbu_rated: float | None = None
    cost: TokenCost | None = None
    price_source: str | None = None
    cost_concurrency: int | None = None

    @classmethod
    def of(cls, bench: ModelBench) -> BenchRecord:
        # the measured objects themselves, so every figure keeps its type (an int stays an int)
        r = bench.result
        return cls(
            model_id=r.model_id,
            config=r.config,
            prompts=r.prompts,
            sweep=r.sweep,
            memory_bytes=r.memory_bytes,
            memory_method=r.memory_method,
            load_s=r.load_s,
            bandwidth_gbs=r.bandwidth_gbs,
            weight_bytes=r.weight_bytes,
            depths=r.depths,
            rated_bandwidth_gbs=r.rated_bandwidth_gbs,
            output_tps=r.output_tps,
            ttft_s=r.ttft_s,
            prefill_tps=r.prefill_tps,
            mbu=r.mbu,
            mbu_rated=r.mbu_rated,
            cost=bench.cost,
            price_source=bench.price_source,
            cost_concurrency=bench.cost_concurrency,
        )

    @property
    def short(self) -> PromptStats | None:
        """The short prompt's figures (or the first prompt's): a chat turn as a user feels it."""
        return self.prompts.get("short") or next(iter(self.prompts.values()), None)


class PublishedResult(BaseModel):
    """A score a leaderboard or model card published: shown beside, never mixed with, yours."""

    model_config = _STORED

    benchmark: str
    value: float
    percent: float  # the value on a 0-100 scale
    setting: str
    publisher: str
    date: str
    source: str
    quote: str
    origin: str = "curated"  # curated | imported


class RentOption(BaseModel):
    """A provider's price to run this open model for you ("rent it"), per 1M tokens."""

    model_config = _STORED

    provider: str
    provider_model: str
    input_per_m: float
    output_per_m: float
    blended_per_m: float
    source: str
    date: str
    note: str = ""

    @classmethod
    def of(cls, p: HostedPrice) -> RentOption:
        return cls.model_validate(p, from_attributes=True)


class ModelComparison(BaseModel):
    """Every figure the comparison holds for one model; a failed stage leaves its fields None
    and says why in `errors`."""

    model_config = _STORED

    id: str
    engine: str | None = None
    license: str | None = None
    catalog_id: str | None = None
    bundled: bool = False
    quality: QualityScore | None = None
    output_tps: float | None = None
    ttft_s: float | None = None
    prefill_tps: float | None = None
    itl_p50_s: float | None = None
    itl_p99_s: float | None = None
    mbu: float | None = None
    memory_bytes: int | None = None
    cost: TokenCost | None = None
    price_source: str | None = None
    openness: OpennessFacts | None = None
    fit: FitFacts | None = None
    bench: BenchRecord | None = None
    errors: list[str] = Field(default_factory=list)
    # added in openscout 0.x (issue 20): what others publish, beside what was measured here
    published: list[PublishedResult] = Field(default_factory=list)
    rent: list[RentOption] = Field(default_factory=list)

    @property
    def cost_per_m(self) -> float | None:
        """Blended $ per 1M tokens (3 input : 1 output)."""
        return self.cost.blended_per_m if self.cost else None


class CompareSettings(BaseModel):
    """How the comparison was run."""

    model_config = _STORED

    suite: str | None = None  # None: quality was not measured
    limit: int | None = None
    seed: int = 0
    repeats: int | None = None
    warmup: int | None = None
    max_tokens: int | None = None
    speed_depth: int = 0  # speed and TTFT ranked after this many tokens of context
    price_per_hour: float | None = None
    cost_concurrency: int = 1
    weights: Weights | None = None
    # added by issue 16 (new keys only ever go at the end): items of the suite asked (the
    # limit or fewer); None when quality was not measured or the result predates the count
    items: int | None = None


class ReferencePrice(BaseModel):
    """A hosted API's list price, shown beside the measured models for comparison."""

    model_config = _STORED

    name: str
    input_per_m: float
    output_per_m: float
    blended_per_m: float
    source: str
    date: str

    @classmethod
    def of(cls, p: ApiPrice) -> ReferencePrice:
        return cls.model_validate(p, from_attributes=True)


class HostedPriceRow(RentOption):
    """A hosted price with the model it is for (the result's table of open-model prices)."""

    model: str

    @classmethod
    def of(cls, p: HostedPrice) -> HostedPriceRow:  # type: ignore[override]
        return cls(model=p.model, **RentOption.of(p).model_dump())


class PairedTest(BaseModel):
    """Two models on the same quality items (evals/stats.compare_paired): whether the
    difference is more than chance, by an exact McNemar test (pass/fail items) or a paired
    bootstrap (graded ones)."""

    model_config = _STORED

    model_a: str
    model_b: str
    n: int
    score_a: float
    score_b: float
    diff: float  # score_a - score_b
    p_value: float
    significant: bool
    method: str
    failed_a: int = 0  # items each model failed, left out of the pair: no order while any
    failed_b: int = 0
    discordant: int | None = None  # items the two scored differently (None: not recorded)

    def verdict(self) -> str:
        if undecided := undecided_by_failures(self):
            return undecided
        if not self.significant:
            return (
                f"no significant quality difference between {self.model_a} and"
                f" {self.model_b} (p={self.p_value:.3g}, n={self.n}, {self.method})"
            )
        better, worse = (
            (self.model_a, self.model_b) if self.diff > 0 else (self.model_b, self.model_a)
        )
        return (
            f"{better} scores higher than {worse} on the same items by {abs(self.diff):.3f}"
            f" (p={self.p_value:.3g}, n={self.n}, {self.method})"
        )


class CompareResult(BaseModel):
    model_config = _STORED

    version: int = RESULT_VERSION
    created_at: str = ""
    machine: str = ""
    wall_s: float | None = None
    bandwidth_gbs: float | None = None
    settings: CompareSettings = Field(default_factory=CompareSettings)
    models: list[ModelComparison]
    reference_prices: list[ReferencePrice] = Field(default_factory=list)
    recommendation: Recommendation = Field(default_factory=no_recommendation)
    notes: list[str] = Field(default_factory=list)  # e.g. two models' MC scored differently
    # every open model with a provider price, for "rent it" beside "run it here"
    hosted_prices: list[HostedPriceRow] = Field(default_factory=list)
    rank_agreement: list[RankAgreement] = Field(default_factory=list)
    # each pair of models on the quality items, tested on the same items (issue 19)
    paired: list[PairedTest] = Field(default_factory=list)
    # where the CLI wrote report.html/.md/.json; not part of report.json itself
    report: dict[str, str] | None = None

    def model(self, model_id: str) -> ModelComparison | None:
        return next((m for m in self.models if m.id == model_id), None)

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict: `openscout compare --json`, report.json and the pages' data."""
        return self.model_dump(exclude={"report"} if self.report is None else None)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompareResult:
        """A stored result (report.json); raises pydantic's ValidationError if it is not one."""
        return cls.model_validate(data)
