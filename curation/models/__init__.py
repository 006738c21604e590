from .audit import AuditEvent
from .dialogues import Dialogue
from .projects import Membership, Project, Role
from .taxonomy import TAXONOMY_MODELS, Scene, ServiceRole, SourceType, TaskType, TaxonomyTerm

__all__ = [
    "AuditEvent",
    "TAXONOMY_MODELS",
    "Dialogue",
    "Membership",
    "Project",
    "Role",
    "Scene",
    "ServiceRole",
    "SourceType",
    "TaskType",
    "TaxonomyTerm",
]
