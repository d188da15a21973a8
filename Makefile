# One command runs the pipeline, one runs the tests; both set up what they need first.
PARAMS ?= params/default.yaml
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: setup run test test-fast bench lab clean strip cluster-up cluster-down

setup:
	@bash scripts/setup.sh

run: setup  ## run every stage on PARAMS (default: params/default.yaml)
	$(PY) -m loganalysis run --params $(PARAMS)

test:  ## the whole test suite (unit tests, notebook checks, pipeline runs, cluster, pages in Chromium)
	@bash scripts/setup.sh --with-browser
	$(PY) -m pytest -q

test-fast: setup  ## the unit tests only: no pipeline run, no cluster (a few minutes)
	$(PY) -m pytest -q -m "not pipeline and not cluster"

lab: setup  ## JupyterLab on the notebooks, with this project's environment as its kernel
	$(VENV)/bin/jupyter lab notebooks/

strip:  ## remove outputs from the notebooks before committing
	$(VENV)/bin/nbstripout --keep-metadata-keys cell.metadata.tags notebooks/*.ipynb

bench: setup  ## time each stage against its floor and DuckDB (SIZES="2000000 10000000"), then the whole run end to end
	$(PY) -m loganalysis bench --sizes $(or $(SIZES),2000000 10000000)

cluster-up: setup  ## a loopback standalone cluster: master + 2 workers on 127.0.0.1 (state in .cluster/)
	bash scripts/cluster.sh start

cluster-down:  ## stop that cluster by its PIDs
	bash scripts/cluster.sh stop

clean:  ## generated data and reports
	rm -rf data/*/ reports/
