"""NLU layer: our custom Rasa components, named in `config.yml`.

The linear intent classifier, the input cleaner and the safety guard run inside Rasa's NLU
pipeline, and OneStepRulePolicy is the dialogue policy, all plugged in through config.yml (nothing
of Rasa is patched). This layer may use the knowledge layer (text normalisation, safety rules) and
nothing above it.
"""
