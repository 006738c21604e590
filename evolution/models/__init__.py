from evolution.models.instructions import EvolutionOperator, Instruction, InstructionRevision
from evolution.models.prompt_library import MetaPrompt, Prompt, PromptRevision, TemplatePart

__all__ = [
    "EvolutionOperator",
    "Instruction",
    "InstructionRevision",
    "MetaPrompt",
    "Prompt",
    "PromptRevision",
    "TemplatePart",
]
