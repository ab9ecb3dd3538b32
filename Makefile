# The two commands of the README:
#   make demo   installs into .venv and runs the main job on the sample data
#   make test   installs into .venv and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= build/demo

.PHONY: install demo test clean

install: $(VENV)/.installed

# torch is pinned and installed first: sentence-transformers needs it, and an
# unpinned torch would pull a multi-GB CUDA build on this CPU-only machine.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: install
	$(BIN)/semantic-match index data/catalog_lampung.csv --out $(OUT)/index \
		--id-col product_id --text-col name --text-col description
	$(BIN)/semantic-match search $(OUT)/index "seminar kit bernuansa tapis" -k 5
	$(BIN)/semantic-match search $(OUT)/index "mesin perontok padi kapasitas 1 ton/jam" -k 5 \
		--filter "tkdn>=40"
	$(BIN)/semantic-match match $(OUT)/index data/needs_lampung.csv \
		--id-col need_id --text-col need --text-col spec --keep-col buyer -k 3 --out $(OUT)/matches.csv
	$(BIN)/python -c "import pandas as pd; \
		print(pd.read_csv('$(OUT)/matches.csv')[['need_id', 'rank', 'item_id', 'score', 'confidence', \
		'name', 'supplier']].head(12).to_string(index=False, max_colwidth=40))"
	$(BIN)/semantic-match event data/needs_lampung.csv $(OUT)/index --buyer-col buyer \
		--need-text-col need --need-text-col spec --buyers data/event_buyers.csv \
		--suppliers data/event_suppliers.csv --rules data/event_rules.csv \
		--slots 09:00-12:00/20 --tables 12 --out $(OUT)/event

# Lint and type checks run first: they take seconds and catch what tests do not.
test: install
	$(BIN)/ruff check src tests benchmarks notebooks/make_notebooks.py
	$(BIN)/ruff format --check src tests benchmarks notebooks/make_notebooks.py
	$(BIN)/mypy
	$(BIN)/python -m pytest

clean:
	rm -rf build $(VENV)
