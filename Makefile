# imukin: the two commands a new user types are `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO_OUT ?= demo_output

.PHONY: demo test install pretrained benchmark clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned to the local CPU build first so no CUDA build is ever pulled.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/imukin demo --out $(DEMO_OUT)
	$(BIN)/imukin predict tests/data/real/kuopio --fs 100 --out $(DEMO_OUT)/kuopio_real --quiet
	@echo "every joint of a real 7-sensor Xsens recording in $(DEMO_OUT)/kuopio_real/ (report.md, overview.png, CSVs, .mot)"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

pretrained: $(STAMP)
	$(BIN)/python -m imukin.training.pretrained
	@if [ -d ../shared/data/real/kuopio ]; then $(BIN)/python benchmarks/real_imu.py --no-rerun --write-cards; \
	else echo "../shared/data/real/kuopio not found: the model cards' real-sensor rows were not written"; fi

# Each benchmark prints one table; they take minutes to an hour on 2 cores.
benchmark: $(STAMP)
	$(BIN)/python benchmarks/simulator_throughput.py
	$(BIN)/python benchmarks/source_throughput.py
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/input_rate.py
	$(BIN)/python benchmarks/sensor_faults.py
	$(BIN)/python benchmarks/sensor_sites.py
	$(BIN)/python benchmarks/standing.py
	$(BIN)/python benchmarks/saturation.py
	$(BIN)/python benchmarks/real_motion.py
	$(BIN)/python benchmarks/real_imu.py
	$(BIN)/python benchmarks/alignment.py
	$(BIN)/python benchmarks/streaming.py
	$(BIN)/python benchmarks/harmonization.py
	$(BIN)/python benchmarks/search_finetune.py
	$(BIN)/python benchmarks/fusion.py
	$(BIN)/python benchmarks/inference_speed.py --profile

clean:
	rm -rf $(DEMO_OUT) .pytest_cache build src/*.egg-info
