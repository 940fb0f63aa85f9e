"""Routes grouped by resource: ``jobs`` (submit, poll, result, cancel), ``styles``
(upload once, reuse by id), ``health`` (healthz, readyz, metrics)."""
