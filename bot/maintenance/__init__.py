"""Maintenance layer: the maintainers' loop from new pages to a tested model in production.

Candidate models (model_cache, candidate_model, candidate_stack), quality gates (gates, qa_set,
nlu_eval, prechecks), evaluation and reports (evaluate, report, knowledge_diff), and the update,
deploy and rollback steps (update, deploy, locks), the inbox command (inbox). It may use every layer below it (knowledge,
nlu, serving); only the command line sits above it.
"""
