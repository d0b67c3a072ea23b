# Friendly entry points; every target sets itself up (cached venv and model).
.PHONY: run test train setup validate shell lock update rollback evaluate lint

run:            ## set up, train if needed, run the assistant (REST on :5005, actions on :5055)
	bash scripts/run.sh

test:           ## set up and run the whole test suite
	bash scripts/test.sh

lint:           ## ruff, mypy and the layer contracts (import-linter); also run by `make test`
	bash scripts/lint.sh

setup:          ## create or reuse the cached virtualenv (.venv)
	bash scripts/setup.sh >/dev/null

train:          ## train the model unless the cache has it
	bash scripts/train.sh

validate: setup ## check knowledge files and Rasa data
	.venv/bin/python -m bot validate
	.venv/bin/rasa data validate --fail-on-warnings

shell: setup    ## talk to a running assistant in the terminal
	.venv/bin/python -m bot chat

update: setup   ## new pages in, tested model live: make update PAGES="a.txt b.txt" [MODE=holdout]
	.venv/bin/python -m bot update $(PAGES) $(if $(MODE),--mode $(MODE))

rollback: setup ## put the previous model and knowledge back live
	.venv/bin/python -m bot rollback

evaluate: setup ## all quality gates (NLU 5-fold cross-validation), report in reports/latest/
	.venv/bin/python -m bot evaluate $(if $(MODE),--mode $(MODE))

lock: setup     ## regenerate requirements.lock from the current venv
	.venv/bin/pip freeze --all --exclude-editable | grep -v '^pip==' | sort -f > requirements.lock

-include Makefile.knowledge

.PHONY: bench
bench: setup    ## speed figures vs the stock `rasa init` bot (~10 min, not a test; BENCH_ARGS=--train|--quick)
	RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 \
		.venv/bin/python -m benchmarks.bench $(BENCH_ARGS)

.PHONY: bench-messaging
bench-messaging: setup ## issue 15: 50 WhatsApp users (Twilio simulator, 150 ms per API call) vs 50 REST users on one Rasa (~2 min, not a test; MESSAGING_ARGS="--think-ms 300")
	RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 \
		.venv/bin/python -m benchmarks.messaging_load $(MESSAGING_ARGS)

.PHONY: loadtest
loadtest: setup ## issue 17 load test: 50 users x 20 turns via nginx to 3 Rasa replicas, Redis then PostgreSQL, a replica and Redis killed mid-run (~10 min, not a test; LOADTEST_ARGS="--store redis --users 10")
	RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 \
		.venv/bin/python -m benchmarks.cluster_load $(LOADTEST_ARGS)
