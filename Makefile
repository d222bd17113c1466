# Two entry points; each installs what is missing (tools/install.sh) and is a no-op for set-up the second time.
#   make demo   synthetic data -> train (CPU, stock tools/train.py) -> evaluate -> whole-scene GeoTIFF inference
#   make test   the whole pytest suite
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
export VENV

.PHONY: install demo test clean-demo

install:
	@bash tools/install.sh

demo: install
	@$(PY) tools/demo.py $(DEMO_ARGS)

test: install
	@$(PY) -m pytest tests $(PYTEST_ARGS)

clean-demo:
	rm -rf demo_outputs
