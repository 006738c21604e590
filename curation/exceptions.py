class ConflictError(Exception):
    """Someone else changed the item since it was read; nothing was written."""
