"""Use cases, one package per capability; web pages, the JSON API and the command line ask them, never each other.

Shared by all: `errors` (the domain errors) and `background` (a loop that runs beside the app).
"""
