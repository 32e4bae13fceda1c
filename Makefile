# The front door of the course. `make help` lists the targets.
PY := .venv/bin/python
# make course NB=01            run one notebook (any prefix: NB="00 01" runs two)
# make course PARAMS="-p train_steps 300"   papermill parameters (see README)
NB ?=
PARAMS ?=
RUN_ARGS := $(if $(NB),--only $(NB)) $(PARAMS)
# make colab COLAB_PORT=8890     serve Colab on another port
COLAB_PORT ?= 8888

.PHONY: help setup course notebooks colab site test bench progress wheelhouse mutation planted-bugs lock clean

help:
	@echo "make setup      create .venv (Python 3.7 + TF 1.13.2) and the Jupyter kernel 'iris-tf113',"
	@echo "                and .venv-tf2 (Python 3.11 + TF 2.21, for notebook 12)"
	@echo "make course     run every notebook headlessly into build/executed/ (NB=01 for one)"
	@echo "make notebooks  run them and write the fresh outputs back into notebooks/"
	@echo "make colab      serve .venv to Colab as a local runtime: prints the URL to paste (COLAB_PORT=8888)"
	@echo "make site       the course as a static website in build/site/ (open build/site/index.html)"
	@echo "make test       unit tests, notebook lint, and nbval against the committed outputs"
	@echo "make bench      latency and throughput: in-process vs gRPC vs REST, plus a load test"
	@echo "make progress   which exercises are solved, from the checks run in this copy"
	@echo "make wheelhouse wheels of every dependency in wheelhouse/, for offline rooms (setup then uses it)"
	@echo "make mutation   mutation testing of the model server (mutmut; minutes, not part of make test)"
	@echo "make planted-bugs  plant each catalogued realistic bug and show which test catches it"
	@echo "make lock       re-resolve requirements.txt into requirements.lock (and -tf2.txt into -tf2.lock)"
	@echo "make clean      remove build/ (all generated artifacts)"

setup:
	@scripts/setup.sh

course: setup
	$(PY) -m iriscourse.runner $(RUN_ARGS)

notebooks: setup
	$(PY) -m iriscourse.runner --write-back $(RUN_ARGS)

colab: setup
	@$(PY) -m iriscourse.colab --port $(COLAB_PORT)

site: setup
	$(PY) -m iriscourse.site

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m iriscourse.bench $(BENCH_ARGS)

progress: setup
	$(PY) -m iriscourse.exercises

wheelhouse: setup
	scripts/wheelhouse.sh

mutation: setup
	scripts/mutation.sh

planted-bugs: setup
	$(PY) scripts/planted_bugs.py

lock:
	scripts/lock.sh

clean:
	rm -rf build
