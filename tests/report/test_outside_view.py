"""Rent vs run, published vs yours and the rank correlation in the report: labelled, cited,
and computed from the compared models."""

from __future__ import annotations

from openscout.compare_published import rank_agreements, with_published_and_rent
from openscout.comparison import ModelComparison, PublishedResult, QualityScore
from openscout.perf.cost import HOSTED_PRICES, TokenCost, hosted_prices_for
from openscout.report.html import render_html
from openscout.report.markdown import render_markdown
from tests.report.sample import sample_result


def _pub(bench: str, value: float) -> PublishedResult:
    return PublishedResult(
        benchmark=bench,
        value=value,
        percent=value,
        setting="0-shot",
        publisher="LB",
        date="2024-10-01",
        source="https://example.org/lb",
        quote=f"{bench} {value}",
    )


def _model(mid: str, ours: float, theirs: float) -> ModelComparison:
    return ModelComparison(
        id=mid,
        quality=QualityScore(
            suite="quick", score=ours, n=50, ci_low=ours - 0.1, ci_high=ours + 0.1
        ),
        published=[_pub("IFEval", theirs)],
    )


def test_hosted_prices_are_cited_and_blended_three_to_one() -> None:
    assert HOSTED_PRICES and all(p.source.startswith("https://") and p.date for p in HOSTED_PRICES)
    llama8b = hosted_prices_for("meta-llama/llama-3.1-8b-instruct")
    assert [p.blended_per_m for p in llama8b] == sorted(p.blended_per_m for p in llama8b)
    groq = next(p for p in llama8b if p.provider == "Groq")
    assert groq.provider == "Groq" and groq.blended_per_m == (3 * 0.05 + 0.08) / 4
    assert hosted_prices_for(None) == [] and hosted_prices_for("acme/unknown") == []


def test_published_scores_and_prices_attach_by_catalog_id(settings) -> None:
    models = [
        ModelComparison(id="q", catalog_id="Qwen/Qwen2.5-72B-Instruct"),
        ModelComparison(id="d", catalog_id="deepseek-ai/DeepSeek-V3"),
        ModelComparison(id="x"),
    ]
    out, notes = with_published_and_rent(models, settings.home)
    assert notes == []
    assert {p.benchmark for p in out[0].published} >= {"IFEval", "BBH", "MMLU-PRO"}
    # cheapest first (blended 3:1): DeepSeek 0.4775, DeepInfra 0.5075, Fireworks 0.90
    assert [r.provider for r in out[1].rent] == ["DeepSeek", "DeepInfra", "Fireworks AI"]
    assert out[2].published == [] and out[2].rent == []


def test_rank_correlation_needs_three_models_and_agrees_when_orders_match() -> None:
    models = [_model("a", 0.2, 20.0), _model("b", 0.5, 50.0), _model("c", 0.8, 80.0)]
    (r,) = rank_agreements(models)
    assert r.benchmark == "IFEval" and r.n == 3 and r.tau == 1.0 and r.suite == "quick"
    assert rank_agreements(models[:2]) == []


def test_report_shows_rent_vs_run_and_published_vs_yours_apart() -> None:
    result = sample_result()
    first = result.models[0].model_copy(
        update={
            "cost": TokenCost(0.0816, 0.1, 0.3, 0.15),
            "published": [_pub("IFEval", 51.2)],
            "rent": [],
        }
    )
    result = result.model_copy(update={"models": [first, *result.models[1:]]})
    md = render_markdown(result)
    assert "## Rent it or run it here" in md and "no provider price known" in md
    assert "## Published scores beside yours" in md and "IFEval (LB)" in md
    assert "https://example.org/lb (2024-10-01)" in md
    assert "No rank correlation" in md
    html = render_html(result)
    assert "id='rent-vs-run'" in html and "id='published-vs-yours'" in html
