# The two commands a fresh machine needs (see README.md):
#   make serve   install and run the router on its embedded default (no config, no keys)
#   make test    install and run the whole test suite (what CI runs)
.PHONY: serve test install generate bench clean

serve:
	@scripts/install
	.venv/bin/llm-router serve

test:
	@scripts/test

install:
	@scripts/install --dev

generate:
	@scripts/install --dev
	scripts/generate

bench:
	@scripts/install --bench
	.venv/bin/python bench/run_all.py

clean:
	rm -rf .venv node_modules .tools .mypy_cache .pytest_cache .ruff_cache
