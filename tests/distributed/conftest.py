"""A two-worker local Dask cluster per test module, and the sample data indexed once."""

from __future__ import annotations

import pandas as pd
import pytest

from semantic_match import Matcher
from tests.support import DATA, HashEncoder

NEEDS = DATA / "needs_lampung.csv"
CATALOG = DATA / "catalog_lampung.csv"
#: How the sample needs are matched in these tests.
MATCH = {"id_col": "need_id", "text_cols": ["need", "spec"], "keep_cols": ["buyer"], "k": 5}


@pytest.fixture(scope="package")
def client():
    """Two single-threaded worker processes, as the issue's targets use them.

    One cluster for the whole package: starting one costs seconds on a busy machine. A test that
    kills a worker leaves the nanny to restart it; later tests only wait for it if they need it.
    """
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="package")
def hash_index(tmp_path_factory) -> Matcher:
    """The sample catalogue indexed in one process with the fast test encoder, saved to a folder."""
    m = Matcher.from_catalog(
        CATALOG, id_col="product_id", text_cols=["name", "description"], encoder=HashEncoder(), show_progress=False
    )
    m.save(tmp_path_factory.mktemp("hash") / "index")
    return m


def repeated_needs(times: int) -> pd.DataFrame:
    """The sample needs ``times`` over with fresh ids: enough rows for several partitions of 256 needs."""
    needs = pd.read_csv(NEEDS, dtype={"need_id": str})
    return pd.concat([needs.assign(need_id=needs["need_id"] + f"-{i}") for i in range(times)], ignore_index=True)
