# reportgen — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test fuzz lint bench gallery validate clean

# Reinstall whenever the project's metadata changes. The installer's chatter goes to a log that is shown
# only if the install fails.
$(STAMP): pyproject.toml
	@echo "Installing reportgen and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --editable '.[dev]' > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; echo "error: installing into $(VENV) failed (see above)"; exit 1; }
	@touch $(STAMP)

# The whole nightly job on this machine: the stand-in renders, a local SMTP sink keeps the mail in out/mail,
# and the archive (named in report_specs/reportgen.yaml) is out/archive. A rerun mails nothing twice.
# The incident review (report_specs/estate) needs what only a store holds: a week of the demo estate's data,
# its alarms' history and the on-call dashboard, seeded into out/estate.sqlite (about 5 s, 85 MB).
run: $(STAMP)
	$(PY) -m reportgen run --local --local-mail out/mail --out out report_specs
	$(PY) -m reportgen local seed --data out/estate.sqlite --days 8
	$(PY) -m reportgen run --local-data out/estate.sqlite --local-mail out/mail --out out \
		--config report_specs/reportgen.yaml report_specs/estate

validate: $(STAMP)
	$(PY) -m reportgen validate report_specs

test: $(STAMP)
	$(PY) -m pytest -q

# The stand-in's property tests with thousands of generated widgets instead of `make test`'s few dozen.
fuzz: $(STAMP)
	REPORTGEN_FUZZ_EXAMPLES=$${REPORTGEN_FUZZ_EXAMPLES:-3000} $(PY) -m pytest -q -o timeout=3600 tests/local/test_standin_properties.py

lint: $(STAMP)
	$(VENV)/bin/ruff check reportgen tests bench
	$(VENV)/bin/mypy

# One PNG per stand-in feature and a contact sheet of them, to look at.
gallery: $(STAMP)
	$(PY) -m reportgen.local.gallery out/gallery

bench: $(STAMP)
	$(PY) bench/bench.py

clean:
	rm -rf $(VENV) out .pytest_cache
