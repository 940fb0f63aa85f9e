"""A Python client for the stylize API (arbitrary style transfer as a service).

    from stylize_client import Client

    with Client("http://127.0.0.1:8000", api_key="...") as client:
        job = client.wait(client.stylize("photo.jpg", "painting.jpg", alpha=0.8))
        client.result(job).save("out.png")

``AsyncClient`` does the same with ``await``. Errors are typed (``stylize_client.errors``),
parameters are checked as the API checks them (``StyleParams``), failed connections and
429/503 answers are retried (``RetryPolicy``), and ``verify_webhook`` checks a webhook
delivery's signature.
"""

from stylize_client._base import USER_AGENT, __version__
from stylize_client.async_client import AsyncClient
from stylize_client.client import Client
from stylize_client.errors import (
    ERROR_CODES,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IdempotencyKeyReusedError,
    ImageTooLargeError,
    InternalServerError,
    InvalidImageError,
    InvalidMaskError,
    InvalidMultipartError,
    InvalidParameterError,
    InvalidRequestError,
    InvalidSignatureError,
    InvalidVideoError,
    JobCanceledError,
    JobFailedError,
    JobFinishedError,
    JobNotFinishedError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueueFullError,
    RangeNotSatisfiableError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    ServiceUnavailableError,
    StylizeError,
    TooManyActiveJobsError,
    UnavailableError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    UrlExpiredError,
    VideoTooLargeError,
    WaitTimeout,
    WebhookVerificationError,
    WeightsCorruptError,
    WeightsMissingError,
    error_class,
)
from stylize_client.events import DoneEvent, Event, PreviewEvent, ProgressEvent, StatusEvent
from stylize_client.models import ErrorInfo, Job, Progress, Result, ResultInfo, Style
from stylize_client.params import GatysParams, StyleParams
from stylize_client.retry import RetryPolicy
from stylize_client.webhooks import verify_webhook

__all__ = [
    "__version__",
    "APIConnectionError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "DoneEvent",
    "error_class",
    "ERROR_CODES",
    "ErrorInfo",
    "Event",
    "GatysParams",
    "IdempotencyKeyReusedError",
    "ImageTooLargeError",
    "InternalServerError",
    "InvalidImageError",
    "InvalidMaskError",
    "InvalidMultipartError",
    "InvalidParameterError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidVideoError",
    "Job",
    "JobCanceledError",
    "JobFailedError",
    "JobFinishedError",
    "JobNotFinishedError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RangeNotSatisfiableError",
    "PermissionDeniedError",
    "PreviewEvent",
    "Progress",
    "ProgressEvent",
    "QueueFullError",
    "RateLimitError",
    "RequestTimeoutError",
    "Result",
    "ResultInfo",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "StatusEvent",
    "Style",
    "StyleParams",
    "StylizeError",
    "TooManyActiveJobsError",
    "UnavailableError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "VideoTooLargeError",
    "UrlExpiredError",
    "USER_AGENT",
    "verify_webhook",
    "WaitTimeout",
    "WebhookVerificationError",
    "WeightsCorruptError",
    "WeightsMissingError",
]
