# Friendly entry points; every target sets itself up (cached venv and model).
.PHONY: run test train setup validate shell lock

run:            ## set up, train if needed, run the assistant (REST on :5005, actions on :5055)
	bash scripts/run.sh

test:           ## set up and run the whole test suite
	bash scripts/test.sh

setup:          ## create or reuse the cached virtualenv (.venv)
	bash scripts/setup.sh >/dev/null

train:          ## train the model unless the cache has it
	bash scripts/train.sh

validate: setup ## check knowledge files and Rasa data
	.venv/bin/python -m bot validate
	.venv/bin/rasa data validate --fail-on-warnings

shell: setup    ## talk to a running assistant in the terminal
	.venv/bin/python -m bot chat

lock: setup     ## regenerate requirements.lock from the current venv
	.venv/bin/pip freeze --all --exclude-editable | grep -v '^pip==' | sort -f > requirements.lock

-include Makefile.knowledge
