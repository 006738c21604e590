from .audit import AuditEvent
from .dialogues import Dialogue, DialogueStage
from .jobs import Job, JobItem
from .llm import JsonMode, LLMCacheEntry, LLMCall, ModelEndpoint
from .projects import Membership, Project, Role
from .taxonomy import TAXONOMY_MODELS, Scene, ServiceRole, SourceType, TaskType, TaxonomyTerm

__all__ = [
    "AuditEvent",
    "TAXONOMY_MODELS",
    "Dialogue",
    "DialogueStage",
    "Job",
    "JobItem",
    "JsonMode",
    "LLMCacheEntry",
    "LLMCall",
    "ModelEndpoint",
    "Membership",
    "Project",
    "Role",
    "Scene",
    "ServiceRole",
    "SourceType",
    "TaskType",
    "TaxonomyTerm",
]
