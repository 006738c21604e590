"""Screens of the two stages: instructions (stage 1) and the template library and prompts
(stage 2)."""
