"""The contract between the API (``service/``) and the workers (``workers/``).

Both sides import these modules, so they cannot drift apart:

- ``contract.settings``: ``Settings`` (from the environment) and ``connect_redis``;
- ``contract.jobs``: status names, which queue a method goes to, the job spec and record;
- ``contract.job_json``: the job as clients see it (HTTP answers, webhooks, live events);
- ``contract.keys``: the Redis key layout, all under one configurable prefix;
- ``contract.store``: reading and writing records, inputs and results in Redis;
- ``contract.webhooks``: signing and verifying webhooks, where they may go, queueing them;
- ``contract.notify``: what follows a job's change of state (its webhook deliveries);
- ``contract.signing``: signed result URLs;
- ``contract.presence``: which workers are alive (for ``/readyz`` and ``/metrics``);
- ``contract.metrics``: job metrics that workers count in Redis and the API exports;
- ``contract.logs``: the log format of every process.

Torch-free: the API process imports it.
"""
