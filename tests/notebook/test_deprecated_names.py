"""Old public names of the notebook wing still work, with a DeprecationWarning, and give the same result."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from semantic_match import InputError, Matcher
from semantic_match.notebook import ResultView, show
from semantic_match.notebook.confidence import resolve_min_confidence, resolve_threshold
from semantic_match.retrieval.calibration import Calibration
from tests.support import HashEncoder


@pytest.fixture
def matches(small_catalog) -> pd.DataFrame:
    cal = Calibration(
        coef=[0.0, 4.0, 4.0],
        intercept=-3.0,
        features=["dense", "char_cov", "term_cov"],
        threshold=0.5,
        encoder={"backend": "test-hash"},
    )
    m = Matcher.from_catalog(
        small_catalog,
        id_col="kode",
        text_cols=["nama", "deskripsi"],
        encoder=HashEncoder(),
        calibration=cal,
        show_progress=False,
    )
    return m.match(["tas seminar tapis", "laptop gaming"], k=2)


def test_show_threshold_is_a_deprecated_alias_of_min_confidence(matches):
    with pytest.warns(
        DeprecationWarning,
        match=r"show\(threshold=...\) is deprecated; use "
        r"show\(min_confidence=...\)",
    ) as caught:
        old = show(matches, threshold=0.999)
    # The warning points at the caller's line, not at the library.
    assert caught[0].filename == __file__
    new = show(matches, min_confidence=0.999)
    assert old.to_html() == new.to_html() and old.to_text() == new.to_text()
    assert old.min_confidence == 0.999 and 'class="sm-flag"' in old.to_html()
    with pytest.warns(DeprecationWarning, match=r"ResultView\(threshold=...\) is deprecated"):
        view = ResultView(matches, threshold=0.0)
    assert view.to_html() == show(matches, min_confidence=0.0).to_html()
    with pytest.warns(DeprecationWarning, match=r"ResultView.threshold is deprecated"):
        assert view.threshold == 0.0
    with pytest.raises(InputError, match="got both min_confidence=0.5 and threshold=0.6"):
        show(matches, min_confidence=0.5, threshold=0.6)


def test_min_confidence_must_be_a_number(matches):
    with pytest.raises(InputError, match="min_confidence must be a number"):
        show(matches, min_confidence="hoog")


def test_resolve_threshold_is_a_deprecated_alias():
    conf = np.array([0.2, np.nan])
    with pytest.warns(DeprecationWarning, match=r"resolve_threshold\(\) is deprecated"):
        assert resolve_threshold(0.4) == 0.4
    with pytest.warns(DeprecationWarning):
        assert resolve_threshold(None, confidence=conf) == resolve_min_confidence(None, confidence=conf)
    assert resolve_min_confidence(None, confidence=np.array([np.nan])) is None


def test_plot_threshold_is_a_deprecated_alias_of_min_confidence():
    pytest.importorskip("matplotlib")
    from semantic_match.notebook.plots import needs_served, plot_needs_served, plot_score_distribution

    matches = pd.DataFrame(
        {
            "need_id": ["A", "A", "B", "B"],
            "rank": [1, 2, 1, 2],
            "confidence": [0.9, 0.8, 0.3, 0.2],
            "supplier": ["X", "Y", "Y", "X"],
        }
    )

    def legend(fig) -> list[str]:
        return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]

    with pytest.warns(DeprecationWarning, match=r"plot_score_distribution\(threshold=...\) is deprecated"):
        old = plot_score_distribution(matches, threshold=0.5)
    assert legend(old) == legend(plot_score_distribution(matches, min_confidence=0.5))
    with pytest.warns(DeprecationWarning, match=r"needs_served\(threshold=...\) is deprecated"):
        old_counts = needs_served(matches, threshold=0.5)
    pd.testing.assert_frame_equal(old_counts, needs_served(matches, min_confidence=0.5))
    with pytest.warns(DeprecationWarning, match=r"plot_needs_served\(threshold=...\) is deprecated"):
        old = plot_needs_served(matches, threshold=0.5)
    assert old.axes[0].get_title() == plot_needs_served(matches, min_confidence=0.5).axes[0].get_title()
    with pytest.raises(InputError, match="got both"):
        needs_served(matches, min_confidence=0.5, threshold=0.5)


def test_importing_the_package_does_not_import_matplotlib():
    code = "import semantic_match, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
