"""API of the two stages: instructions (stage 1) and prompts (stage 2)."""
