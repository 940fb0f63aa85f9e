"""Helpers the tests share: where the data is, real processes (workers, the API, Redis
servers), the in-process API client, key prefixes, and images made on the spot.

Fixtures stay in the conftests; these are plain functions and classes they call.
"""
