# Conveniences over the scripts the README documents.
.PHONY: run test lint bench
run:
	./scripts/run.sh
test:
	./scripts/test.sh
lint:
	.venv/bin/ruff check . && .venv/bin/mypy
bench:
	.venv/bin/python bench/calendar.py
