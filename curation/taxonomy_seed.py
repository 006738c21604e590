"""The paper's taxonomy (Dial-insight, §2 and Table 5), used to seed every new project.

Plain data, no Django: (key, English name, Chinese name, weight[, requirements]).
"""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    key: str
    name_en: str
    name_zh: str
    weight: float = 1.0
    requirements_en: tuple[str, ...] = ()
    requirements_zh: tuple[str, ...] = ()


SCENES: tuple[Term, ...] = (
    Term("buying", "Buying a home", "买房", 1.0),
    Term("selling", "Selling a home", "卖房", 1.0),
    Term("renting", "Renting", "租房", 1.0),
    Term("home-improvement", "Home improvement", "家装", 1.0),
)

SOURCE_TYPES: tuple[Term, ...] = (
    Term("call-recording", "Call recordings", "电话录音"),
    Term("large-screen-recording", "Large-screen recordings", "大屏录音"),
    Term("smart-badge-recording", "Smart-badge recordings", "智能工牌录音"),
    Term("vr-recording", "VR recordings", "VR录音"),
    Term("pad-recording", "PAD recordings", "PAD录音"),
    Term("mobile-phone-recording", "Mobile-phone recordings", "手机录音"),
    Term("single-text-record", "Single text records", "单条文本记录"),
    Term("im-message", "IM messages", "IM消息"),
    Term("wecom-group-message", "Corporate WeChat group messages", "企业微信群消息"),
    Term("wecom-personal-message", "Personal corporate WeChat messages", "企业微信个人消息"),
)

SERVICE_ROLES: tuple[Term, ...] = (
    Term("real-estate-agent", "Real-estate agent", "房产经纪人"),
    Term("home-designer", "Home designer", "家装设计师"),
    Term("rental-cloud-manager", "Rental cloud manager", "租赁云管家"),
    Term("lease-asset-manager", "Lease asset manager", "租赁资管经理"),
    Term("customer-manager", "Customer manager", "客户经理"),
    Term("home-advisor", "Home advisor", "家居顾问"),
)

# The scenes each service role works in (the paper's roles by business line); leads edit it.
ROLE_SCENES: dict[str, tuple[str, ...]] = {
    "real-estate-agent": ("buying", "selling", "renting"),
    "home-designer": ("home-improvement",),
    "rental-cloud-manager": ("renting",),
    "lease-asset-manager": ("renting",),
    "customer-manager": ("buying", "selling", "home-improvement"),
    "home-advisor": ("home-improvement",),
}

# The task type a prompt of two or more tasks has (paper's Table 5).
MULTI_TASK = "multi-task-integration"

TASK_TYPES: tuple[Term, ...] = (
    Term(
        "information-extraction",
        "Information extraction",
        "信息抽取",
        1.0,
        (
            "Issues the service provider must attend to",
            "The customer's needs",
            "Basic facts",
            "The customer's attitude",
            "The customer's emotion",
            "The customer's intention",
            "Profanity",
            "Language",
        ),
        (
            "服务者需要关注的问题",
            "客户需求",
            "基本信息",
            "客户态度",
            "客户情绪",
            "客户意向",
            "脏话",
            "语种",
        ),
    ),
    Term(
        "content-summarization",
        "Content summarization",
        "内容总结",
        1.0,
        (
            "Summarise the dialogue",
            "Summarise the provider's service process",
            "How the customer's intention changed over the conversation",
        ),
        ("对话摘要", "服务者的服务流程总结", "客户意向在对话中的变化"),
    ),
    Term(
        "reasoning",
        "Reasoning",
        "推理",
        1.0,
        (
            "Predict complaints and churn risk, and warn",
            "Suggest how the provider should continue to reach the goal",
            "Lay out the reasoning and the customer's willingness for each task",
            "Combine inference with prior knowledge",
        ),
        (
            "预测投诉与流失风险并预警",
            "建议服务者如何继续推进以达成目标",
            "给出每项任务的推理过程与客户意愿",
            "结合先验知识进行推断",
        ),
    ),
    Term(
        "dialogue-generation",
        "Dialogue generation",
        "对话生成",
        1.0,
        (
            "Propose solutions for the issues raised",
            "Richer wording for the provider",
            "Assistant with knowledge integration",
            "Listing copy for a property",
            "Answer the customer from a knowledge base and property information",
        ),
        (
            "针对提出的问题给出解决方案",
            "为服务者提供更丰富的话术",
            "融合知识的助手",
            "房源描述文案",
            "基于知识库和房源信息回答客户",
        ),
    ),
    Term(
        "data-analysis-comparison",
        "Data analysis and comparison",
        "数据分析与对比",
        1.0,
        (
            "Match properties to the customer's requirements and recommend",
            "Compare properties or neighbourhoods",
            "Horizontal service reports",
            "Customer retention rate",
            "Service effectiveness",
        ),
        ("根据客户需求匹配并推荐房源", "房源或小区对比", "横向服务报告", "客户留存率", "服务效果"),
    ),
    Term(
        "multi-task-integration",
        "Multi-task integration",
        "多任务整合",
        1.0,
        ("One instruction that combines several single tasks and asks for all outputs at once",),
        ("一条指令组合多个单一任务，并一次性要求全部输出",),
    ),
)
