from metrics.models.versions import (
    FREEZE_JOB,
    DatasetVersion,
    EmbeddingCache,
    TokenCount,
    VersionItem,
)

__all__ = ["FREEZE_JOB", "DatasetVersion", "EmbeddingCache", "TokenCount", "VersionItem"]
