"""The batch-processing core of the Lambda handler: one record's failure is that record's alone.

Built on Powertools for AWS Lambda's batch processors, which implement Lambda's partial batch response
(``ReportBatchItemFailures``) exactly as AWS documents it:

* standard queues (``BatchProcessor``): every record runs; the failed ones are listed;
* FIFO queues (``SqsFifoPartialProcessor`` with ``skip_group_on_error``): once a record of a message
  group fails, the rest of that group in the batch is listed unprocessed, so SQS hands them back in
  order; other groups carry on.

A record fails when it is refused (``records.RecordRefused``: wrong addressee, a body that is not a
bounded JSON object, target keys of the wrong type, a target the optional index check refuses) or when
its target's outcome is not ``succeeded``. Either way it is logged with its message id and reported;
nothing a record holds can raise out of the handler.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.runner import run_ship_for_target
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.lambda_worker.records import RecordRefused, read_message, sqs_records
from starfleet_airflow.lambda_worker.target_check import target_refusal

log = logging.getLogger(__name__)


class RecordFailed(Exception):
    """The record's target did not succeed; the message is its outcome."""


def _is_fifo(records: list[dict[str, Any]]) -> bool:
    return any(isinstance(r.get("attributes"), dict) and r["attributes"].get("MessageGroupId") for r in records)


def _processor(records: list[dict[str, Any]]) -> BatchProcessor:
    processor: BatchProcessor
    if _is_fifo(records):
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    else:
        processor = BatchProcessor(EventType.SQS)
    # Every record failing is still a partial response listing them all (the same retry for SQS), not an
    # exception: the response stays the one place that says which records failed.
    processor.raise_on_entire_batch_failure = False
    return processor


def process_batch(
    ship: LoadedShip, event: Any, context: Any, *, commit: bool, index: AccountIndex | None = None
) -> dict[str, list[dict[str, str]]]:
    """Run ``ship`` for each record of an SQS event; the partial batch response lists the failed ones.

    ``index``: check each target against it first (``Airflow.LambdaTargetCheck: INDEX``); None trusts
    the queue. Raises ``records.LambdaEventError`` only when ``event`` is not an SQS batch at all.
    """
    records = sqs_records(event)
    if not records:  # Powertools refuses an empty batch (found by tests/test_fuzz.py); nothing failed
        return {"batchItemFailures": []}
    request_id = getattr(context, "aws_request_id", None)

    def run_record(record: Any) -> None:
        raw = record.raw_event
        message_id = raw["messageId"]
        try:
            message = read_message(raw, ship.name)
            if index is not None:
                refusal = target_refusal(ship, message.payload, message.account_id, message.region, index)
                if refusal:
                    raise RecordRefused(refusal)
        except RecordRefused as exc:
            log.error("%s: message %s refused: %s", ship.name, message_id, exc)
            raise
        outcome = run_ship_for_target(
            ship,
            message.payload,
            message.account_id,
            message.region,
            commit,
            run_context=RunContext(
                extra={"invoked_by": "lambda", "message_id": message_id, "aws_request_id": request_id}
            ),
            template=str(message.payload.get("TemplateName", "<template>")),
        )
        where = "/".join(p for p in (outcome.account_id, outcome.region) if p) or "single invocation"
        if not outcome.ok:
            log.error(
                "%s: message %s, %s for %s %s: %s",
                ship.name,
                message_id,
                outcome.template,
                where,
                outcome.status,
                outcome.error,
            )
            raise RecordFailed(f"{outcome.status}: {outcome.error}")
        log.info(
            "%s: message %s, %s for %s succeeded (commit=%s)", ship.name, message_id, outcome.template, where, commit
        )

    return process_partial_response(
        event={"Records": records}, record_handler=run_record, processor=_processor(records), context=context
    )
