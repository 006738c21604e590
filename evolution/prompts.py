"""Prompts of stage 1, as data: one per language. No Django here.

They are filled with evolution.placeholders (only `{name}` is a placeholder), never str.format:
dialogue text in a value can then never be read as a format field. `{domain}` is the project's
business (Project.domain), so nothing here assumes one industry. Dialogue text goes in only
through client.untrusted(), marked as data never to be obeyed.
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
        "你是{domain}领域的数据标注专家。请根据下面的信息，写出 {n} 条不同的任务指令，"
        "每条指令要求大模型针对一段客服对话完成“{task}”类任务。\n"
        "任务类型的要求：{requirements}\n场景：{scene}\n服务角色：{role}\n"
        "下面是该场景的一段真实对话（已脱敏），仅供了解语境：\n{dialogue}\n"
        "要求：每条指令独立、清晰、可执行，不要复述对话内容，不要编号。"
    ),
    "en": (
        "You are an expert data annotator for {domain}. Using the information below, "
        "write {n} different task instructions; each asks a language model to perform a "
        '"{task}" task on a customer-service dialogue.\n'
        "Requirements of the task type: {requirements}\nScene: {scene}\nService role: {role}\n"
        "Here is a real (redacted) dialogue of this scene, only for context:\n{dialogue}\n"
        "Each instruction must be self-contained, clear and doable; do not restate the dialogue; "
        "do not number them."
    ),
}


# Evol-Instruct operators (WizardLM, arXiv 2304.12244), in our words. Every one shows the model
# `{dialogue}`, a marked excerpt of a real redacted dialogue of the instruction's scene: the
# paper evolves instructions under the control of the dialogue, so a child stays answerable
# from such a dialogue. `{instruction}` (the parent) comes last, after a blank line, so the
# rewriting request reads as the end of the prompt. `{domain}` is the project's business.
_DIALOGUE_ZH = "\n对话语境（节选）：\n{dialogue}\n\n原指令：{instruction}"
_DIALOGUE_EN = "\nDialogue context (excerpt):\n{dialogue}\n\nInstruction: {instruction}"

OPERATORS = {
    "add-constraints": (
        "depth",
        "增加约束",
        "Add constraints",
        "下面是一条{domain}业务中针对客服对话的任务指令。请参考对话语境改写它，使其更有挑战性："
        "在原指令基础上增加一条合理的、能依据这类对话完成的约束或要求，新增内容不超过 20 个字，"
        "改写后的指令仍需能由人完成。只输出改写后的指令。" + _DIALOGUE_ZH,
        "Below is a task instruction on customer-service dialogues in {domain}. Using the "
        "dialogue context, rewrite it to make it harder: add one reasonable constraint or "
        "requirement that such a dialogue lets one meet, at most 20 words more, and keep it "
        "doable by a person. Output only the rewritten instruction." + _DIALOGUE_EN,
    ),
    "deepen": (
        "depth",
        "加深",
        "Deepen",
        "下面是一条{domain}业务中针对客服对话的任务指令。请参考对话语境改写它，加深其探究的深度和"
        "广度，使其要求对这类对话做更透彻的分析。新增内容不超过 20 个字。只输出改写后的指令。"
        + _DIALOGUE_ZH,
        "Below is a task instruction on customer-service dialogues in {domain}. Using the "
        "dialogue context, rewrite it so that it asks for a deeper and broader analysis of such "
        "a dialogue, at most 20 words more. Output only the rewritten instruction." + _DIALOGUE_EN,
    ),
    "concretize": (
        "depth",
        "具体化",
        "Concretize",
        "下面是一条{domain}业务中针对客服对话的任务指令。请参考对话语境改写它，把其中笼统的概念换成"
        "{domain}业务中、对话里出现的更具体的概念。新增内容不超过 20 个字。只输出改写后的指令。"
        + _DIALOGUE_ZH,
        "Below is a task instruction on customer-service dialogues in {domain}. Using the "
        "dialogue context, rewrite it, replacing general concepts with more specific ones of "
        "{domain} that such a dialogue mentions, at most 20 words more. Output only the "
        "rewritten instruction." + _DIALOGUE_EN,
    ),
    "reasoning-steps": (
        "depth",
        "增加推理步骤",
        "Increase reasoning steps",
        "下面是一条{domain}业务中针对客服对话的任务指令。请参考对话语境改写它，使其明确要求依据"
        "对话分多个步骤进行推理。新增内容不超过 20 个字。只输出改写后的指令。" + _DIALOGUE_ZH,
        "Below is a task instruction on customer-service dialogues in {domain}. Using the "
        "dialogue context, rewrite it so that it explicitly asks for reasoning over the dialogue "
        "in several steps, at most 20 words more. Output only the rewritten instruction."
        + _DIALOGUE_EN,
    ),
    "complicate-context": (
        "depth",
        "结合对话语境",
        "Complicate with the dialogue",
        "下面是一条{domain}业务中针对客服对话的任务指令。请参考对话语境改写它，让它利用对话中的"
        "结构化信息（如数量、价格、时间、地点）提出更复杂的要求。只输出改写后的指令。"
        + _DIALOGUE_ZH,
        "Below is a task instruction on customer-service dialogues in {domain}. Using the "
        "dialogue context, rewrite it so that it makes use of structured information in the "
        "dialogue (quantities, prices, times, places) for a harder request. Output only the "
        "rewritten instruction." + _DIALOGUE_EN,
    ),
    "breadth": (
        "breadth",
        "拓展新任务",
        "In-breadth: a new task",
        "下面是一条{domain}业务中针对客服对话的任务指令。请以它为灵感，写一条同属{domain}领域、"
        "能依据这类对话完成、但更少见的新任务指令，长度和难度与原指令相近。只输出新指令。"
        + _DIALOGUE_ZH,
        "Below is a task instruction on customer-service dialogues in {domain}. Taking it as "
        "inspiration, write a new, rarer task instruction of the same domain ({domain}) that "
        "such a dialogue lets one do, of similar length and difficulty. Output only the new "
        "instruction." + _DIALOGUE_EN,
    ),
}
