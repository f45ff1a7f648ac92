# The verbs of the project. `make demo` and `make test` work on a fresh machine:
# each creates .venv when there is none and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= data/raw/demo
DEMO_LEADS ?= 5000
DEMO_SEED ?= 42

.PHONY: demo monitor test test-fast lint docs notebooks format data validate train predict train-crm predict-crm bench clean help

help:
	@echo "make demo      set up .venv, generate demo data and run the main job on it"
	@echo "make test      set up .venv with the dev extra, run ruff, build the docs strictly, pytest"
	@echo "make test-fast ruff and the tests not marked slow (the inner loop)"
	@echo "make docs      build the documentation site into site/ (open site/index.html)"
	@echo "make notebooks open JupyterLab on notebooks/ with the project's environment"
	@echo "make data      generate the demo data into $(DEMO_DIR)"
	@echo "make train     train on the demo data, log to MLflow, save models/demo"
	@echo "make predict   score every demo lead with the champion (models:/lead-intent@champion)"
	@echo "make train-crm train from the demo CRM export alone (one row per lead, no events)"
	@echo "make predict-crm score every lead of the demo CRM export with its champion"
	@echo "make monitor   score the demo as of 2025-10-01 and measure how those scores turned out"
	@echo "make bench     run the speed, memory and quality benchmarks (prints tables)"
	@echo "make format    format the code with ruff"
	@echo "make clean     remove generated data, models and MLflow stores"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,spark,docs,sql]'
	@touch $@ $(VENV)/.installed

data: $(VENV)/.installed
	$(BIN)/intent-model generate --out $(DEMO_DIR) --leads $(DEMO_LEADS) --seed $(DEMO_SEED) --crm

validate: data
	$(BIN)/intent-model validate --events $(DEMO_DIR)/events.parquet --leads $(DEMO_DIR)/leads.parquet

train: data
	$(BIN)/intent-model train --events $(DEMO_DIR)/events.parquet --leads $(DEMO_DIR)/leads.parquet \
		--out models/demo --promote

predict: $(VENV)/.installed
	$(BIN)/intent-model predict --model models:/lead-intent@champion --events $(DEMO_DIR)/events.parquet \
		--leads $(DEMO_DIR)/leads.parquet --out data/processed/demo_scores.parquet

# The CRM-table path: the same leads as one row each, engagement summed up, no events.
train-crm: data
	$(BIN)/intent-model train --leads $(DEMO_DIR)/crm_leads.parquet --label-col converted \
		--out models/crm/demo --promote

predict-crm: $(VENV)/.installed
	$(BIN)/intent-model predict --model models:/lead-intent-crm@champion --leads $(DEMO_DIR)/crm_leads.parquet \
		--out data/processed/demo_crm_scores.parquet

# The monitoring run: the champion scores every lead as of an earlier date, and the
# outcomes of those scores are measured on what happened after (reports/monitoring).
monitor: $(VENV)/.installed
	$(BIN)/intent-model predict --model models:/lead-intent@champion --events $(DEMO_DIR)/events.parquet \
		--leads $(DEMO_DIR)/leads.parquet --as-of 2025-10-01 \
		--out data/processed/demo_scores_2025-10-01.parquet --report reports/scores_2025-10-01.html
	$(BIN)/intent-model monitor --scores data/processed/demo_scores_2025-10-01.parquet \
		--events $(DEMO_DIR)/events.parquet --out reports/monitoring/2025-10-01

demo: validate train predict train-crm predict-crm monitor
	@echo
	@echo "Done. Model bundle: models/demo (model_card.md, plots/); what runs is the registry's"
	@echo "champion (models:/lead-intent@champion), which moves only when a promotion wins."
	@echo "Scores of every lead: data/processed/demo_scores.parquet"
	@echo "From the CRM export alone: models/crm/demo, data/processed/demo_crm_scores.parquet"
	@echo "How the scores of 2025-10-01 turned out: open reports/monitoring/2025-10-01/report.html"
	@echo "Runs and registered versions: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# --strict: a broken link or a docstring the API reference cannot read fails the build.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

$(VENV)/.installed-notebooks: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[notebooks,sql]'
	@touch $@ $(VENV)/.installed

# JupyterLab runs in .venv, so the notebooks' kernel imports this checkout's intent_model.
# In a container running as root, Jupyter needs to be told that this is intended.
notebooks: $(VENV)/.installed-notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: lint docs
	$(BIN)/python -m pytest

# The inner loop: every test but those marked slow (they train models, serve them or run
# whole commands); `make test` runs them all.
test-fast: lint
	$(BIN)/python -m pytest -m "not slow" -q

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,spark,docs,sql,bench]'
	@touch $@ $(VENV)/.installed $(VENV)/.installed-dev

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/generator.py
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/leaks.py
	$(BIN)/python benchmarks/cadence.py
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/spark.py
	$(BIN)/python benchmarks/load_model.py
	$(BIN)/python benchmarks/database.py
	$(BIN)/python benchmarks/training.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf data/raw/demo data/processed/* data/quarantine models/* mlruns mlflow.db reports
