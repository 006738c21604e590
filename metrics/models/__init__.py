from metrics.models.evaluation import (
    EVAL_JOB,
    RELIABILITY_JOB,
    EvalAnswer,
    EvalRun,
    JudgePrompt,
    TestItem,
    TestSet,
)
from metrics.models.versions import (
    FREEZE_JOB,
    DatasetVersion,
    EmbeddingCache,
    TokenCount,
    VersionItem,
)

__all__ = [
    "EVAL_JOB",
    "FREEZE_JOB",
    "RELIABILITY_JOB",
    "DatasetVersion",
    "EmbeddingCache",
    "EvalAnswer",
    "EvalRun",
    "JudgePrompt",
    "TestItem",
    "TestSet",
    "TokenCount",
    "VersionItem",
]
