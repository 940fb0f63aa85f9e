"""The glue between the queue and the engine.

- ``jobs.py``: the RQ job function (inputs from Redis → engine → outcome to Redis);
- ``engine.py``: the process's one ``Stylizer`` and its cache of encoded styles;
- ``progress.py``: progress reports and the cancel flag, through Redis;
- ``webhooks.py``: the threads that deliver webhooks (signed, retried, restart-proof);
- ``worker.py``: the non-forking RQ worker with a lease, so a killed worker's job is
  re-queued within seconds, and the loop that runs it (``run_worker``).

The commands that start workers (``stylize worker``, ``stylize up``) are in ``cli/``.
"""
