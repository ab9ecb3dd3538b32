"""Index folders saved by semantic_match 0.1.0 still load and rank exactly as they did then.

The fixtures under tests/fixtures were written by the 0.1.0 code (42 sample products; one hybrid
index with the embedded e5-small, one lexical) together with that version's results for five needs.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from semantic_match import Matcher
from tests.support import ROOT

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.mark.parametrize("name", ["index-0.1.0-hybrid", "index-0.1.0-lexical"])
def test_index_saved_by_0_1_0_ranks_as_before(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(FIXTURES / name, folder)
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    m = Matcher.load(folder, show_progress=False)
    for query, want in expected.items():
        got = m.search(query, k=8, filters={"tkdn": {">=": 40}} if "tapis" in query else None)
        assert got["item_id"].tolist() == want["item_id"], query
        np.testing.assert_allclose(got["score"].to_numpy(), want["score"], atol=1e-6, err_msg=query)
        np.testing.assert_allclose(got["confidence"].to_numpy(), want["confidence"], atol=1e-4, err_msg=query)
