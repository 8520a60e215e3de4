# lakeprep: two commands for learners (`make course`, `make test`), a few more for authors.
# Every target is safe to re-run and fast when nothing changed: the venv is rebuilt only when
# requirements.txt or pyproject.toml change, and the Delta JARs are fetched only once.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help setup jars browser doctor labs learner-labs book course test bench reset clean

help:
	@echo "make course   set up, run every lab, build the book"
	@echo "make test     set up, run every test (what CI runs)"
	@echo "make doctor   check Java, Spark/Delta, JARs, workspace, disk"
	@echo "make labs     run every lab (lakeprep labs run)"
	@echo "make book     build the book from the last lab run"
	@echo "make bench    time Spark start-up and every lab (build/bench.json)"
	@echo "make reset    delete all lab state in the workspace"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

jars: setup
	@$(BIN)/lakeprep jars fetch

doctor: setup
	@$(BIN)/lakeprep doctor

labs: jars
	$(BIN)/lakeprep labs run

learner-labs: setup
	$(BIN)/lakeprep labs build

book: jars
	$(BIN)/python scripts/build_book.py

course: jars
	$(BIN)/lakeprep labs run
	$(BIN)/python scripts/build_book.py
	@echo "Course ready. Executed labs: build/labs/"


browser:
	@bash scripts/install_browser.sh

test: jars browser
	$(BIN)/python -m pytest

bench: jars
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_quiz.py
	$(BIN)/python scripts/bench_pit.py
	@rm -rf build/book && $(BIN)/python scripts/build_book.py | tail -2

reset: setup
	$(BIN)/lakeprep reset

clean:
	rm -rf build .pytest_cache book/labs book/exam-map.md book/ch0*-checkpoint.md
