# `make course` runs every notebook headlessly against the local service; `make test` checks it all.
# Both create the virtual environment in .venv on first use (Python 3.11+ needed).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: course test lint notebooks exercises bench service-start service-stop clean

$(READY): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	# The aws CLI, for the tests that drive the service as a CLI user would. It pins its own
	# botocore, so it lives in a venv of its own.
	$(PYTHON) -m venv $(VENV)/awscli
	$(VENV)/awscli/bin/python -m pip install --quiet awscli==1.46.3
	touch $@

# SageMaker SDK v3, for the tests that drive the service as a v3 user would (tests/sdkv3/). Its
# top-level `sagemaker` package is not v2's, so it lives in a venv of its own (~1 GB).
SDKV3 := $(VENV)/sdkv3/.ready
$(SDKV3): requirements-sdkv3.txt | $(READY)
	$(PYTHON) -m venv $(VENV)/sdkv3
	$(VENV)/sdkv3/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/sdkv3/bin/python -m pip install --quiet -r requirements-sdkv3.txt
	touch $@

# IMDB_SOURCE: "fallback" (the bundled corpus, no download), a URL or an archive path; unset, the
# IMDB lessons download the full review set (cached) and fall back to the bundled corpus offline.
course: $(READY)  ## execute every Tutorial and Solutions notebook into build/ (executed .ipynb + HTML)
	$(PY) -m helpers.course $(if $(JOBS),--jobs $(JOBS))

lint: $(READY)  ## ruff: the lint rules (line length 110 included) and the format, checked, nothing rewritten
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint $(SDKV3)  ## lint and the whole test suite (with the SDK v3 venv)
	$(PY) -m pytest

notebooks: $(READY)  ## re-run the notebooks and store their outputs in place (before committing)
	IMDB_SOURCE=fallback $(PY) -m helpers.course --in-place

exercises: $(READY)  ## regenerate Mini-Projects/ from Solutions/
	$(PY) -m helpers.exercises

bench: $(READY)  ## the benchmarks in bench/ (not part of `make test`)
	for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

service-start: $(READY)
	$(PY) -m helpers.local start

service-stop: $(READY)
	$(PY) -m helpers.local stop

clean:
	rm -rf build .pytest_cache .ruff_cache
