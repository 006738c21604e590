from celery import shared_task


@shared_task(name="curation.ping")
def ping() -> str:
    """Answers "pong": lets an operator (and the tests) check that a worker consumes the queue."""
    return "pong"
