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
