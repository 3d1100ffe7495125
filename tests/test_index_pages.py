"""The archive's index pages: severity first, labelled figures, and the official run of a date."""

from __future__ import annotations

import json

from bo_lib.pipeline.index import official_runs, render_run_index, worst_first, write_reports_index, read_runs


def _job(fund, notebook, status="ok", red=0, amber=0, **results):
    return {"job_id": f"{fund}/{notebook}", "fund": fund, "notebook": notebook, "status": status, "error": None if status == "ok" else "boom",
            "duration_seconds": 1.0, "outputs": {"html": {"path": f"{fund}/{notebook}.html"}},
            "results": {"exceptions": {"red": red, "amber": amber, "green": 3}, **results}}


def test_jobs_are_listed_worst_first():
    jobs = [_job("USEQ", "intake"), _job("USEQ", "nav", amber=2), _job("GLBD", "reconciliation", red=1, amber=5),
            _job("MAHF", "nav", red=3), _job("GLBD", "settlement", status="failed")]
    assert [j["job_id"] for j in worst_first(jobs)] == ["GLBD/settlement", "MAHF/nav", "GLBD/reconciliation", "USEQ/nav", "USEQ/intake"]


def test_run_page_names_the_red_checks_and_labels_figures():
    manifest = {"run_id": "r1", "business_date": "2026-11-06", "code_version": "abc", "created": "2026-11-06T21:30:00Z",
                "scope": {"funds": ["USEQ"], "notebooks": "all"},
                "jobs": [_job("USEQ", "reconciliation", red=1, base_currency="USD", positions_open_breaks=4, positions_open_value_base=-0.001,
                              exception_checks=[{"rag": "red", "check": "Position breaks", "count": 4, "detail": "4 breaks not explained by timing"}])]}
    page = render_run_index(manifest)
    assert "1 job: 1 ran, 0 failed · 1 red exception in 1 job, 0 amber" in page
    assert "partial: USEQ" in page
    assert 'Position breaks <span class="muted">— 4 breaks not explained by timing</span>' in page
    assert '<span>Open position breaks</span><span class="v">4 breaks</span>' in page
    assert '<span>Open position breaks, value</span><span class="v">0.00 USD</span>' in page  # no negative zero
    assert "Reconciliation report" in page and "positions_open_breaks" not in page


def _seal(root, date, run_id, scope, red=0):
    folder = root / date / run_id
    folder.mkdir(parents=True)
    manifest = {"run_id": run_id, "business_date": date, "created": f"{date}T21:00:00Z", "code_version": "v", "scope": scope,
                "jobs": [_job("USEQ", "nav", red=red)]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "manifest.sha256").write_text("x")
    return folder


def test_the_official_run_is_the_latest_full_run_not_a_partial_rerun(tmp_path):
    full = {"funds": "all", "notebooks": "all"}
    older_full = _seal(tmp_path, "2026-11-06", "20261106T210000Z-aaaa", full, red=2)
    _seal(tmp_path, "2026-11-06", "20261106T220000Z-bbbb", {"funds": ["USEQ"], "notebooks": ["nav"]}, red=0)
    only_partial = _seal(tmp_path, "2026-11-05", "20261105T210000Z-cccc", {"funds": ["GLBD"], "notebooks": "all"})
    assert official_runs(read_runs(tmp_path, "manifest.json")) == {older_full, only_partial}
    page = write_reports_index(tmp_path).read_text()
    row = page[page.index("20261106T210000Z-aaaa"):]
    assert row.index("official") < row.index("</tr>")
    assert "partial: USEQ; Shadow NAV" in page and "partial: GLBD" in page
    assert '<span class="rag red" title="2 red">2</span>' in page
