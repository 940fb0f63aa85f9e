"""What follows a job's change of state, for whoever made it (a worker, or the API when it
cancels a queued job): the job's webhook, if it asked for this event, gets a delivery of
the job's JSON as it is now (``contract.webhooks.schedule``).

Live events need nothing here: the API reads them from the record
(``service/routes/events.py``).
"""

import logging
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from contract.job_json import job_out
from contract.jobs import WebhookEvent
from contract.settings import Settings
from contract.signing import UrlSigner
from contract.store import JobStore
from contract.webhooks import delivery_lifetime, schedule

log = logging.getLogger("stylize.webhooks")


def notify(store: JobStore, settings: Settings, job_id: str, event: WebhookEvent) -> str | None:
    """Queue the webhook delivery of ``event`` if the job wants it; the delivery's id.
    Never raises for Redis: a job's outcome matters more than its notification."""
    try:
        record = store.get(job_id)
        if record is None or record.webhook is None or event not in record.webhook.events:
            return None
        signer = UrlSigner(store.redis, store.keys, settings.url_secret)
        base_url = record.base_url or ""
        body = job_out(
            record,
            root_path=urlsplit(base_url).path.rstrip("/"),
            base_url=base_url or None,
            signer=signer,
            queue_position=None,
            cancel_requested=not record.status.finished and store.cancel_requested(job_id),
        ).model_dump_json()
        ttl = delivery_lifetime(
            settings.webhook_attempts, settings.webhook_backoff, settings.webhook_timeout
        )
        return schedule(store.redis, store.keys, record, event, body.encode(), ttl)
    except RedisError as error:
        log.warning("job %s: %s webhook not queued: %s", job_id, event, error)
        return None
