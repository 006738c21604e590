"""Shared fixtures. As in healthchecks' test base: every test can reach a project with its
admin, a lead, an annotator, and an outsider who belongs to another project."""

from dataclasses import dataclass

import pytest
from django.test import Client

from curation.models import Project, Role
from curation.services.taxonomy import taxonomy_seed_project
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytest_plugins = ["tests.support.labels"]


@dataclass
class Team:
    project: Project
    admin: object
    lead: object
    annotator: object
    outsider: object
    site_admin: object

    def client(self, who: str) -> Client:
        client = Client()
        client.force_login(getattr(self, who))
        return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make users by the dozen; production's PBKDF2 would cost 0.3 s each. What is
    tested is who may do what, not the strength of the hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(db) -> Team:
    project = ProjectFactory(name="Beike demo", slug="beike")
    taxonomy_seed_project(project=project)
    members = {}
    for role in (Role.ADMIN, Role.LEAD, Role.ANNOTATOR):
        members[role.value] = MembershipFactory(
            project=project, user=UserFactory(username=f"{role.value}-user"), role=role
        ).user
    # The outsider is a member elsewhere: membership of one project opens no other.
    outsider = MembershipFactory(
        project=ProjectFactory(slug="elsewhere"),
        user=UserFactory(username="outsider"),
        role=Role.ADMIN,
    ).user
    site_admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    return Team(
        project=project,
        admin=members["admin"],
        lead=members["lead"],
        annotator=members["annotator"],
        outsider=outsider,
        site_admin=site_admin,
    )


@pytest.fixture
def redis_flushed():
    """An empty test Redis database (queues, locks and caches of earlier tests gone)."""
    import redis
    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: run the suite with `make test`")
    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def celery_worker_process(transactional_db, redis_flushed, tmp_path):
    """A real Celery worker in its own process, on the test database and the test Redis."""
    from tests.support.workers import WorkerProcess

    worker = WorkerProcess("w1", tmp_path).start()
    yield worker
    worker.stop()
