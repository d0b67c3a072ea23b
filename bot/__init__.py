"""OIM assistant package: knowledge base, passage search and command line (`python -m bot`)."""
