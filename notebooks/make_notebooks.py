"""Write the analyst notebooks (stored without outputs). Run: python notebooks/make_notebooks.py"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c.strip()) for c in cells
    ]
    return nb


QUICKSTART = [
    """md:# 1. Quick start: catalogue in, ranked products out

Load the sample Lampung catalogue (fictional IKM suppliers), search it with free-text needs,
filter by region, price and TKDN, and save and reload the index. Runs offline with the embedded
multilingual-e5-small.""",
    """
from pathlib import Path
import pandas as pd
from semantic_match import Matcher, show

ROOT = Path.cwd() if (Path.cwd() / "data").exists() else Path.cwd().parent
catalog = pd.read_csv(ROOT / "data" / "catalog_lampung.csv")
catalog.head()
""",
    """
m = Matcher.from_catalog(catalog, id_col="product_id", text_cols=["name", "description"])
m
""",
    """md:## Search
`score` ranks the products for this need; `confidence` says how likely the product really is
what the need asks for (comparable across needs).""",
    """
res = m.search("seminar kit bernuansa tapis", k=5)
show(res, query="seminar kit bernuansa tapis", matcher=m)
""",
    """
# The plain DataFrame is one attribute away.
res[["rank", "item_id", "score", "confidence", "name", "supplier", "price", "tkdn"]]
""",
    """md:## Filters: region, price, TKDN
Filters apply inside the search: you get k rows whenever k products qualify.""",
    """
res = m.search("mesin perontok padi kapasitas 1 ton/jam", k=5,
               filters={"tkdn": {">=": 40}, "price": {"<=": 30_000_000},
                        "region": ["Metro", "Pringsewu", "Lampung Tengah"]})
assert len(res) == 5 and (res["tkdn"] >= 40).all()
res[["rank", "item_id", "score", "confidence", "name", "region", "price", "tkdn", "matched_terms"]]
""",
    """md:## A need no local supplier serves
The ranking still returns the nearest products, but with a low confidence.""",
    """
weak = m.search("toner printer hp 93a black", k=3)
print(weak[["rank", "name", "confidence"]].to_string(index=False))
assert weak["confidence"].iloc[0] < m.calibration_.threshold
""",
    """md:## Save and reload
An index folder has a manifest (versions, encoder, settings, checksums); a reloaded index ranks
exactly as the saved one.""",
    """
import tempfile
folder = Path(tempfile.mkdtemp()) / "lampung-index"
m.save(folder)
again = Matcher.load(folder)
pd.testing.assert_frame_equal(m.search("kopi robusta 250 gr", k=5), again.search("kopi robusta 250 gr", k=5))
sorted(p.name for p in folder.iterdir())
""",
]

QUALITY = [
    """md:# 3. Checking quality: evaluate, compare settings, pick a threshold, inspect failures

Uses the judged real needs in `data/eval/` (RUP 2023–2024 procurement lines) against the 1,308
Tokopedia product titles in `../shared/data` — a catalogue where many needs have no good product.""",
    """
from pathlib import Path
import numpy as np
import pandas as pd
from semantic_match import Matcher, evaluate

ROOT = Path.cwd() if (Path.cwd() / "data").exists() else Path.cwd().parent
SHARED = ROOT.parent / "shared" / "data"
titles = pd.read_csv(SHARED / "prdect_id_products.csv", dtype={"product_id": str})
needs = pd.read_csv(ROOT / "data" / "eval" / "market_needs.csv", dtype=str)
qrels = pd.read_csv(ROOT / "data" / "eval" / "market_qrels.csv", dtype={"need_id": str, "item_id": str})
titles.shape, needs.shape, qrels.grade.value_counts().to_dict()
""",
    """
m = Matcher.from_catalog(titles, id_col="product_id", text_cols=["Product Name"])
test = needs[needs["split"] == "test"]
""",
    """md:## Compare rankings on the held-out split""",
    """
rows = []
for mode in ["dense", "lexical", "hybrid"]:
    m.set_ranking(mode=mode)  # the same index, ranked another way
    res = evaluate(qrels, matcher=m, needs=test, id_col="eval_id", text_cols=["item", "spec"])
    rows.append({"mode": mode, **res.summary})
# `m` ranks as the hybrid again, and `res` holds the hybrid's evaluation, used below
pd.DataFrame(rows)
""",
    """md:## Pick a confidence threshold
For each need: is its best product relevant? Sweep the threshold and look at precision and
recall of the "no good match" flag.""",
    """
top3 = m.match(needs, id_col="eval_id", text_cols=["item", "spec"], k=3)
run = top3[top3["rank"] == 1].copy()
graded = qrels.set_index(["need_id", "item_id"])["grade"]
run["relevant"] = [graded.get((n, i), 0) > 0 for n, i in zip(run["need_id"], run["item_id"])]
rows = []
for t in np.arange(0.1, 0.7, 0.05):
    flag = run["confidence"] < t
    tp = (flag & ~run["relevant"]).sum()
    rows.append({"threshold": round(t, 2), "flagged": int(flag.sum()),
                 "precision": tp / max(flag.sum(), 1), "recall": tp / max((~run["relevant"]).sum(), 1)})
pd.DataFrame(rows)
""",
    """
from semantic_match.notebook.plots import plot_score_distribution
fig = plot_score_distribution(top3, min_confidence=m.calibration_.threshold)
fig
""",
    """md:## Inspect failures
Needs that have a relevant product but where the top result is not one of them.""",
    """
fails = res.per_need[(res.per_need["n_relevant"] > 0) & (res.per_need["mrr"] < 1)]
top = run.set_index("need_id")
fails.assign(need=fails["need_id"].map(top["need_text"]), top_product=fails["need_id"].map(top["Product Name"]))[
    ["need_id", "need", "top_product", "ndcg@10", "mrr"]].head(10)
""",
    """
from semantic_match import explain_match
first = fails.iloc[0]
need_text = top.loc[first["need_id"], "need_text"]
best_item = qrels[(qrels.need_id == first["need_id"]) & (qrels.grade > 0)].sort_values("grade").iloc[-1]["item_id"]
explain_match(m, need_text, best_item)
""",
]

EVENT = [
    """md:# 2. Batch matching before an event

Needs spreadsheet → shortlists → buyer × supplier table → meeting schedule → unmet needs, on the
sample Lampung event (fictional buyers and IKM suppliers).""",
    """
from pathlib import Path
import tempfile
import pandas as pd
from semantic_match import Matcher, show
from semantic_match.events.event import run_event

ROOT = Path.cwd() if (Path.cwd() / "data").exists() else Path.cwd().parent
DATA = ROOT / "data"
needs = pd.read_csv(DATA / "needs_lampung.csv")
needs.groupby("buyer_type").size()
""",
    """
m = Matcher.from_catalog(DATA / "catalog_lampung.csv", id_col="product_id", text_cols=["name", "description"])
""",
    """md:## Shortlists: the best products for every need""",
    """
shortlist = m.match(needs, id_col="need_id", text_cols=["need", "spec"], k=3, keep_cols=["buyer"])
show(shortlist[shortlist["need_id"].isin(["N001", "N002", "N023"])], matcher=m)
""",
    """md:## The whole event: scores, schedule, unmet needs""",
    """
work = Path(tempfile.mkdtemp())
ev = run_event(DATA / "needs_lampung.csv", m, slots="09:00-12:00/20", tables=12,
               buyer_col="buyer", need_text_cols=["need", "spec"],
               buyers=DATA / "event_buyers.csv", suppliers=DATA / "event_suppliers.csv",
               rules=DATA / "event_rules.csv", work_dir=work / "parts", show_progress=False)
ev.schedule
""",
    """md:### Buyer × supplier scores, with the needs and products behind them""",
    """
ev.pair_scores.head(10)
""",
    """
ev.buyer_agenda(ev.meetings["buyer_id"].iloc[0])
""",
    """md:### Unmet needs: the opportunity list for local industry""",
    """
ev.unmet_by_category
""",
    """
from semantic_match.notebook.plots import plot_needs_served, plot_score_distribution
plot_score_distribution(ev.matches, min_confidence=ev.min_confidence)
""",
    """
plot_needs_served(ev.matches, by="supplier", min_confidence=ev.min_confidence, top=15)
""",
    """md:## Export agendas, workbook and the printable report""",
    """
files = ev.export(work / "event", title="Temu Bisnis P3DN (contoh)")
sorted(p.name for p in (work / "event").iterdir())
""",
]

README = """# Notebooks

Stored without outputs; `make test` runs each of them top to bottom (tests/notebook/test_notebooks.py).
Regenerate them from `make_notebooks.py` after editing it.

| notebook | what |
| --- | --- |
| `01_quick_start.ipynb` | load the sample catalogue, search, filter by region/price/TKDN, save and reload |
| `02_event_matching.ipynb` | needs → shortlists → buyer × supplier scores → schedule → unmet needs → exports |
| `03_checking_quality.ipynb` | evaluate on the judged marketplace set, compare rankings, pick a threshold, inspect failures (needs ../shared/data) |

Start Jupyter from the repository root with the project's environment:
`.venv/bin/pip install jupyterlab && .venv/bin/jupyter lab notebooks/`.
"""

if __name__ == "__main__":
    (HERE / "README.md").write_text(README)
    for name, cells in (
        ("01_quick_start.ipynb", QUICKSTART),
        ("02_event_matching.ipynb", EVENT),
        ("03_checking_quality.ipynb", QUALITY),
    ):
        nbf.write(notebook(cells), HERE / name)
        print("wrote", HERE / name)
