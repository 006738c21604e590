"""Jobs the integration and browser tests run on real workers."""

from curation.models import Job, ModelEndpoint, Project
from curation.services.jobs import job_create


def chat_job(*, project: Project, endpoint: ModelEndpoint, creator, n: int) -> Job:
    """A batch of n distinct chat items (no cache hits between them) on the endpoint."""
    payloads = [
        {"messages": [{"role": "user", "content": f"第{i}段对话：客户想在望京买两居室。请总结。"}]}
        for i in range(n)
    ]
    return job_create(
        project=project,
        kind="llm.chat",
        payloads=payloads,
        creator=creator,
        params={"endpoint": endpoint.pk},
    )
