# make demo / make test set themselves up on a fresh clone; nothing needs an AWS account.
# The oldest Python the project supports, from pyproject.toml (requires-python = ">=3.11").
MIN_PYTHON := $(shell sed -n 's/^requires-python = ">=\([0-9.]*\)"$$/\1/p' pyproject.toml)
# The Lambda runs python3.13; tests use it when it is here (on PATH or in pyenv), else the first
# of python3, python3.12 and python3.11 that is new enough. Looked for once per make.
PYENV_313 := $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | tail -1)
PYENV_PYTHON313 := $(if $(PYENV_313),$(shell pyenv root)/versions/$(PYENV_313)/bin/python3.13)
ifndef PYTHON
PYTHON := $(shell for p in python3.13 $(PYENV_PYTHON313) python3 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < tuple(map(int, "$(MIN_PYTHON)".split("."))))' \
	2>/dev/null && { echo $$p; exit; }; done; echo python3)
endif
# $(call check-python,python,advice): before anything is installed, refuses a Python older
# than MIN_PYTHON, saying which version is needed, which was found, and the advice.
check-python = @found="$$(command -v $(1) >/dev/null 2>&1 && $(1) --version 2>&1)"; \
	echo "$$found" | awk -v min=$(MIN_PYTHON) '{ split($$2, v, "."); split(min, m, "."); \
		exit !($$1 == "Python" && (v[1] > m[1] || (v[1] == m[1] && v[2] >= m[2] + 0))) }' || { \
	echo "enrollment-monitor needs Python $(MIN_PYTHON) or newer; found $${found:-nothing} ($(1))." >&2; \
	echo "$($(2))" >&2; exit 1; }
NAME_A_PYTHON = Install Python $(MIN_PYTHON)+ (the Lambda runs 3.13), or name one: make $(or $(MAKECMDGOALS),demo) PYTHON=/path/to/python3.13
VENV := .venv
PY := $(VENV)/bin/python
PIP_INSTALL := $(PY) -m pip install -q --disable-pip-version-check
# The environment's dependencies: pyproject's extras, and what ships in the package.
DEPENDENCIES := pyproject.toml functions/requirements.txt functions/enrollment_monitor/__init__.py
# SAM CLI and checkov pin conflicting libraries: each gets its own environment.
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
# make test runs on every core (pytest-xdist); a worker with nothing left takes tests queued for
# another, so the long property tests keep no core idle. PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= auto

.PHONY: demo test test-thorough lint typecheck validate build deploy checkov cfn-lint publish publish-preflight bench status clean alert-pictures

# Made once, by a Python checked first; a half-made or older .venv is made again.
$(VENV)/.created:
	$(call check-python,$(PYTHON),NAME_A_PYTHON)
	$(PYTHON) -m venv --clear $(VENV)
	touch $@

# One environment filled in two steps: make demo installs only what the demo runs (the [demo]
# extra); make test, lint and the rest add the tools (the [dev] extra, which includes [demo]).
$(VENV)/.demo: $(DEPENDENCIES) $(VENV)/.created
	$(PIP_INSTALL) --editable '.[demo]'
	touch $@

$(VENV)/.dev: $(DEPENDENCIES) $(VENV)/.created
	$(PIP_INSTALL) --editable '.[dev]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	PYTHONPATH=functions $(PY) -m devtools.demos.demo

# verify's checklist for a healthy stack and a broken one, offline: on a moto server on
# 127.0.0.1, or on a moto server of yours (AWS_ENDPOINT_URL=http://127.0.0.1:5000 make
# verify-demo). Not on LocalStack, which cannot create the stack: docs/DEVELOPMENT.md#emulators.
.PHONY: verify-demo
verify-demo: $(VENV)/.dev
	PYTHONPATH=functions $(PY) -m devtools.demos.verify_demo

# docs/images: each alert as the email, Slack and Teams show it, drawn from the real renderers
# (tests/unit/test_alert_pictures.py fails until they are drawn again after a change).
alert-pictures: $(VENV)/.demo
	PYTHONPATH=functions $(PY) -m devtools.demos.alert_pictures

# make test leaves out the tests marked thorough (the slow property and scale tests, pyproject's
# markers); make test-thorough runs only them. CI runs both (.ci/run).
test: $(VENV)/.dev
	@echo "make test: about 80 s on 2 cores (docs/DEVELOPMENT.md); make test-thorough adds the slow property and scale tests"
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not thorough" --durations=10

test-thorough: $(VENV)/.dev
	@echo "make test-thorough: about 75 s on 2 cores (docs/DEVELOPMENT.md): the tests make test leaves out"
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m thorough --durations=10

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

status: $(VENV)/.demo
	$(VENV)/bin/enrollment-monitor status

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# sam build resolves "python3.13" on PATH. With pyenv, add its 3.13 to the active versions.
SAM_ENV = $(if $(PYENV_313),PYENV_VERSION=$(PYENV_313):$(shell pyenv version-name 2>/dev/null))
# Any Region works: validation and build call no AWS API.
SAM_REGION ?= us-east-1

$(SAM_VENV)/.installed:
	$(call check-python,$(PYTHON),NAME_A_PYTHON)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

$(CHECKOV_VENV)/.installed:
	$(call check-python,$(PYTHON),NAME_A_PYTHON)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'
	touch $@

validate: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region $(SAM_REGION)

build: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM_ENV) $(SAM_VENV)/bin/sam build --region $(SAM_REGION)

# Deploys what make build built, with the SAM CLI of .venv-sam. Guided (it asks for every
# parameter, then saves the answers in samconfig.toml) until samconfig.toml has
# parameter_overrides under [default.deploy.parameters]: a guided deploy always saves them
# there, while the stack name and Region it may leave to [default.global.parameters]. Then
# without questions. GUIDED=1 asks again, GUIDED=0 never asks.
DEPLOYED_BEFORE = $(shell awk '/^[[:space:]]*\[/ { deploy = /^[[:space:]]*\[default\.deploy\.parameters\]/ } \
	deploy && /^[[:space:]]*parameter_overrides[[:space:]]*=/ { print "yes"; exit }' samconfig.toml 2>/dev/null)
GUIDED ?= $(if $(DEPLOYED_BEFORE),0,1)

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy$(if $(filter 1,$(GUIDED)), --guided)

checkov: $(CHECKOV_VENV)/.installed stackset-template
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		--file template.yaml --file nested/chatbot.yaml --file $(STACKSET_TEMPLATE)

# The monitor deploys in every partition: one Region of each. Chat only where AWS Chatbot is.
cfn-lint: $(VENV)/.dev stackset-template
	$(VENV)/bin/cfn-lint --regions us-east-1 us-gov-west-1 cn-north-1 -- template.yaml
	$(VENV)/bin/cfn-lint --regions us-east-1 -- nested/chatbot.yaml
	$(VENV)/bin/cfn-lint --regions us-east-1 us-gov-west-1 cn-north-1 -- $(STACKSET_TEMPLATE)

# Member-account mode for service-managed StackSets (docs/ORGANIZATIONS.md): template.yaml
# transformed offline by the SAM translator, as plain CloudFormation (no Transform, no nested
# stack), its code read from the CodeBucket and CodeKey parameters. stackset-code zips what
# `sam build` built (python3.13 and PyPI, as make build), to upload there.
STACKSET_TEMPLATE := .aws-sam/stackset/template.json
STACKSET_CODE = .aws-sam/stackset/enrollment-monitor-$(VERSION).zip
.PHONY: stackset-template stackset-code

stackset-template: $(VENV)/.dev
	PYTHONPATH=functions $(PY) -m devtools.release.stackset --output $(STACKSET_TEMPLATE)

stackset-code: build
	$(PYTHON) -c 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])' \
		$(basename $(STACKSET_CODE)) .aws-sam/build/EnrollmentMonitorFunction
	@echo "wrote $(STACKSET_CODE)"

# Publishes this version to the Serverless Application Repository in SAM_REGION:
# make publish PUBLISH_BUCKET=artifact-bucket (docs/PUBLISHING.md). The version is
# enrollment_monitor.__version__. SAR takes a nested application only from SAR: the chat stack
# is published first as enrollment-monitor-chat, and devtools.release.sar makes the monitor's template
# name it.
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' functions/enrollment_monitor/__init__.py)
PACKAGED := .aws-sam/packaged.yaml
SAM_PUBLISH = SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

publish: publish-preflight build $(VENV)/.dev
	$(SAM_PUBLISH) package --region $(SAM_REGION) --template-file nested/chatbot.yaml \
		--output-template-file .aws-sam/chat-packaged.yaml \
		--s3-bucket $(PUBLISH_BUCKET) --s3-prefix enrollment-monitor-chat/$(VERSION)
	$(SAM_PUBLISH) publish --region $(SAM_REGION) \
		--template .aws-sam/chat-packaged.yaml --semantic-version $(VERSION)
	$(PY) -m devtools.release.sar --template .aws-sam/build/template.yaml --version $(VERSION) \
		--region $(SAM_REGION) > .aws-sam/build/sar.json
	$(SAM_PUBLISH) package --region $(SAM_REGION) --template-file .aws-sam/build/sar.json \
		--output-template-file $(PACKAGED) \
		--s3-bucket $(PUBLISH_BUCKET) --s3-prefix enrollment-monitor/$(VERSION)
	$(SAM_PUBLISH) publish --region $(SAM_REGION) --template $(PACKAGED) --semantic-version $(VERSION)

# Refuses before building: what a publish cannot do without.
publish-preflight:
	$(if $(PUBLISH_BUCKET),,$(error PUBLISH_BUCKET is not set: make publish PUBLISH_BUCKET=bucket))
	$(if $(VERSION),,$(error no __version__ in functions/enrollment_monitor/__init__.py))
	@! grep -n 'github.com/OWNER/' template.yaml nested/chatbot.yaml \
		|| { echo "replace OWNER in HomePageUrl and SourceCodeUrl first (docs/PUBLISHING.md)" >&2; exit 1; }

# Cold start, warm check, CPU, AWS requests per check and package size, each against its floor
# or target, then organization members at scale under a latency model (a script, not a timed
# test; a few minutes). Builds the deployment package with pip (needs PyPI once).
# $(PY) -m devtools.bench --quick runs each measure once, small, in seconds (the suite does).
bench: $(VENV)/.dev
	$(PY) -m devtools.bench
