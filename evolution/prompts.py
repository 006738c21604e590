"""Prompts of stage 1, as data: one per language, filled with str.format. No Django here.

Dialogue text goes in only through client.untrusted(), marked as data never to be obeyed.
"""

SEED_SCHEMA = {
    "type": "object",
    "required": ["instructions"],
    "properties": {
        "instructions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": {"type": "string", "minLength": 8, "maxLength": 600},
        }
    },
}

SEED = {
    "zh": (
        "你是房产服务领域的数据标注专家。请根据下面的信息，写出 {n} 条不同的任务指令，"
        "每条指令要求大模型针对一段客服对话完成“{task}”类任务。\n"
        "任务类型的要求：{requirements}\n场景：{scene}\n服务角色：{role}\n"
        "下面是该场景的一段真实对话（已脱敏），仅供了解语境：\n{dialogue}\n"
        "要求：每条指令独立、清晰、可执行，不要复述对话内容，不要编号。"
    ),
    "en": (
        "You are an expert annotator of real-estate service data. Using the information below, "
        "write {n} different task instructions; each asks a language model to perform a "
        '"{task}" task on a customer-service dialogue.\n'
        "Requirements of the task type: {requirements}\nScene: {scene}\nService role: {role}\n"
        "Here is a real (redacted) dialogue of this scene, only for context:\n{dialogue}\n"
        "Each instruction must be self-contained, clear and doable; do not restate the dialogue; "
        "do not number them."
    ),
}


# Evol-Instruct operators (WizardLM, arXiv 2304.12244), in our words; `{instruction}` is the
# parent, `{dialogue}` an excerpt of a real redacted dialogue (only the context operator uses it).
OPERATORS = {
    "add-constraints": (
        "depth",
        "增加约束",
        "Add constraints",
        "请改写下面的任务指令，使其更有挑战性：在原指令基础上增加一条合理的约束或要求，"
        "新增内容不超过 20 个字，改写后的指令仍需能由人完成。只输出改写后的指令。\n原指令：{instruction}",
        "Rewrite the task instruction below to make it harder: add one reasonable constraint or "
        "requirement, at most 20 words more, and keep it doable by a person. Output only the "
        "rewritten instruction.\nInstruction: {instruction}",
    ),
    "deepen": (
        "depth",
        "加深",
        "Deepen",
        "请改写下面的任务指令，加深其探究的深度和广度，使其要求更透彻的分析。新增内容不超过 20 个字。"
        "只输出改写后的指令。\n原指令：{instruction}",
        "Rewrite the task instruction below so that it asks for a deeper and broader analysis, at "
        "most 20 words more. Output only the rewritten instruction.\nInstruction: {instruction}",
    ),
    "concretize": (
        "depth",
        "具体化",
        "Concretize",
        "请改写下面的任务指令，把其中笼统的概念换成房产服务中更具体的概念。新增内容不超过 20 个字。"
        "只输出改写后的指令。\n原指令：{instruction}",
        "Rewrite the task instruction below, replacing general concepts with more specific ones "
        "from real-estate service, at most 20 words more. Output only the rewritten instruction."
        "\nInstruction: {instruction}",
    ),
    "reasoning-steps": (
        "depth",
        "增加推理步骤",
        "Increase reasoning steps",
        "请改写下面的任务指令，使其明确要求分多个步骤进行推理。新增内容不超过 20 个字。"
        "只输出改写后的指令。\n原指令：{instruction}",
        "Rewrite the task instruction below so that it explicitly asks for reasoning in several "
        "steps, at most 20 words more. Output only the rewritten instruction."
        "\nInstruction: {instruction}",
    ),
    "complicate-context": (
        "depth",
        "结合对话语境",
        "Complicate with the dialogue",
        "请参考下面的对话语境，改写任务指令，让它利用对话中的结构化信息（如价格、面积、时间）提出更复杂的要求。"
        "只输出改写后的指令。\n原指令：{instruction}\n对话语境：{dialogue}",
        "Using the dialogue context below, rewrite the task instruction so that it makes use of "
        "structured information in the dialogue (prices, areas, times) for a harder request. "
        "Output only the rewritten instruction.\nInstruction: {instruction}\nContext: {dialogue}",
    ),
    "breadth": (
        "breadth",
        "拓展新任务",
        "In-breadth: a new task",
        "请以下面的任务指令为灵感，写一条同属房产服务领域、但更少见的新任务指令，长度和难度与原指令相近。"
        "只输出新指令。\n原指令：{instruction}",
        "Taking the task instruction below as inspiration, write a new, rarer task instruction of "
        "the same real-estate service domain, of similar length and difficulty. Output only the "
        "new instruction.\nInstruction: {instruction}",
    ),
}
