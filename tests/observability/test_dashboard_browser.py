"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): after real gRPC traffic the
page shows the same totals as CostReport, and a screenshot is saved in the test's temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from llmrouter.v1 import router_pb2 as pb

from tests.conftest import user
from tests.observability.conftest import Observed, need

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# CI installs Chromium (scripts/install --dev); elsewhere a missing browser skips rather than fails.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="no /usr/bin/chromium"),
]


async def test_dashboard_shows_what_cost_report_says(observed: Observed, tmp_path: Path) -> None:
    async_playwright = need("playwright.async_api").async_playwright
    for i in range(4):
        await observed.stub.Complete(pb.CompleteRequest(messages=user(f"hola, ¿cuál es el precio del plan {i}?")))
        async for _ in observed.stub.StreamComplete(pb.CompleteRequest(messages=user(f"write a short poem {i}"))):
            pass
    await observed.stub.Complete(
        pb.CompleteRequest(messages=user("Analyze the trade-offs of three database designs and recommend one."))
    )
    observed.ensure_accounted()
    report = await observed.stub.CostReport(pb.CostReportRequest())
    assert report.totals.requests == 9

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1100},
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"http://127.0.0.1:{observed.admin_port}/")
            await page.wait_for_selector("body[data-loaded]", timeout=15_000)
            shown_requests = (await page.inner_text("#total-requests")).replace(",", "")
            shown_cost = await page.get_attribute("#total-cost", "data-nano")
            shown_baseline = await page.get_attribute("#baseline-cost", "data-nano")
            assert int(shown_requests) == report.totals.requests
            assert int(shown_cost or "-1") == report.totals.cost_nano_usd
            assert int(shown_baseline or "-1") == report.totals.baseline_cost_nano_usd
            assert (await page.inner_text("#total-cost")).startswith("$")
            assert await page.locator("#recent tbody tr").count() == 9
            assert await page.locator("#chart-models text").count() >= 2
            assert await page.locator("#chart-timeline rect").count() >= 1
            providers = await page.inner_text("#providers")
            assert "demo" in providers and "OPENAI_API_KEY" in providers
            assert "hola" not in await page.content()  # prompts are not shown unless show_prompts
            assert errors == []
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()
    assert shot.stat().st_size > 10_000
    print(f"dashboard screenshot: {shot}")
