"""Separation of duties on dataset versions: nobody approves a version they composed, froze
or submitted; a lead who did none of it decides."""

import pytest
from django.core.exceptions import PermissionDenied

from curation.models import Job, Membership, Role
from curation.services.jobs import job_run_here
from metrics.models import DatasetVersion
from metrics.services.versions import (
    version_create,
    version_decide,
    version_freeze,
    version_submit,
)
from tests.factories import UserFactory
from tests.metrics.test_services_versions import labelled  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def lead(team, name: str):
    user = UserFactory(username=name)
    Membership.objects.create(project=team.project, user=user, role=Role.LEAD)
    return user


@pytest.mark.parametrize("step", ["composed", "froze", "submitted"])
def test_a_lead_who_made_the_version_cannot_decide_on_it(team, labelled, step):  # noqa: F811
    composer, freezer, submitter, other = (lead(team, n) for n in ("c", "f", "s", "o"))
    version = version_create(project=team.project, name="v", actor=composer)
    job = version_freeze(version=version, revision=version.revision, actor=freezer, dispatch=False)
    assert job_run_here(job_id=job.pk).status == Job.Status.DONE
    version.refresh_from_db()
    version = version_submit(version=version, revision=version.revision, actor=submitter)
    author = {"composed": composer, "froze": freezer, "submitted": submitter}[step]
    for decision in ("approve", "reject"):
        with pytest.raises(PermissionDenied):
            version_decide(
                version=version,
                revision=version.revision,
                actor=author,
                decision=decision,
                note="不行",
            )
    assert DatasetVersion.objects.get(pk=version.pk).state == "submitted"
    version_decide(version=version, revision=version.revision, actor=other, decision="approve")
    assert DatasetVersion.objects.get(pk=version.pk).decided_by == other
