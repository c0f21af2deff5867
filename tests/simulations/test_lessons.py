"""`natural-tasks lesson` without a browser: bad input, what a page holds, and the lessons' own numbers."""

import re

import numpy as np
import pytest
import scipy.stats

from simulations import lessons
from simulations.cli import main


def test_unknown_lesson_is_one_line_and_exit_2(capsys, tmp_path):
    assert main(["lesson", "world", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["natural-tasks: error: unknown lesson 'nope'; the lessons are world, bound, prompts, sequence"]
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_unwritable_folder_is_one_line_and_exit_2(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    assert main(["lesson", "world", "--out", str(tmp_path / "file" / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("natural-tasks: error: lesson --out:") and "not a folder" in err[0]


def test_one_lesson_and_its_index(capsys, tmp_path):
    assert main(["lesson", "prompts", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "3-prompts.html" in printed and "MB" in printed
    page = (tmp_path / "3-prompts.html").read_text()
    index = (tmp_path / "index.html").read_text()
    assert re.findall(r"href='([^']+)'", index) == ["3-prompts.html"]
    for heading in ("What to look at", "How these numbers were computed", "zero-shot"):
        assert heading in page
    # self-contained: no script, style or image fetched from anywhere (Bokeh's own code is inlined)
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", page)
    assert '<script type="text/javascript">' in page or "<script>" in page


def test_world_lesson_eps_is_the_weighted_kl_at_each_target():
    d = lessons.world_numbers(0)
    for k, log_eps in enumerate(d.log_eps):
        kl = scipy.stats.entropy(d.p_star, d.q[k], axis=1)
        np.testing.assert_allclose(d.kl[k], kl, rtol=1e-9, atol=1e-15)
        assert d.eps[k] == pytest.approx(float(d.p_L @ kl), rel=1e-9)
        assert d.eps[k] == pytest.approx(10.0**log_eps, rel=0.01)


def test_bound_lesson_covers_both_sides_of_the_crossing_and_the_theorem_holds():
    cells = lessons.bound_numbers(0)
    assert len(cells) == 12
    vacuous = {r.vacuous for c in cells for reps in c.reports.values() for r in reps}
    assert vacuous == {True, False}  # the page shows informative and vacuous bounds
    for c in cells:
        for kind, reps in c.reports.items():
            for r in reps:
                assert r.certified, (kind, c.B, c.gamma, r.eps)
                assert r.holds, (kind, c.B, c.gamma, r.eps)
                assert r.vacuous == (r.bound >= c.trivial)
                assert r.vacuous == (r.eps >= c.eps_vacuous * (1 - 1e-9))
