"""Demo dialogues for the quick start: written for this project, with personal data already
replaced by placeholders, as every stored dialogue is. Plain data, no Django."""

DEMO_DIALOGUES = [
    {
        "id": "demo-buy-001",
        "scene": "buying",
        "source": "call-recording",
        "turns": [
            (
                "经纪人",
                "agent",
                "您好，我是链家的经纪人[NAME_1]，看到您在App上关注了望京的两居室，方便聊几句吗？",
            ),
            ("客户", "customer", "可以，我们想买两居，预算大概六百万，最好离地铁近一点。"),
            (
                "经纪人",
                "agent",
                "明白。望京西园有一套89平的两居，南北通透，步行到地铁五分钟，报价598万。",
            ),
            ("客户", "customer", "楼层怎么样？家里有老人，太高了不方便。"),
            ("经纪人", "agent", "是6层，有电梯。周六上午可以带您去看房吗？"),
            ("客户", "customer", "周六可以，不过我们还想对比一下酒仙桥那边的房子。"),
        ],
    },
    {
        "id": "demo-rent-001",
        "scene": "renting",
        "source": "im-message",
        "turns": [
            ("客户", "customer", "你好，我想租一个一居室，月租五千以内，公司在中关村。"),
            (
                "租赁管家",
                "agent",
                "您好！知春路附近有一套45平的一居，月租4800，押一付三，可以月底入住。",
            ),
            ("客户", "customer", "能养猫吗？"),
            ("租赁管家", "agent", "这套房东同意养宠物，需要多交一个月押金。"),
            ("客户", "customer", "押金有点多，我再考虑一下。"),
        ],
    },
    {
        "id": "demo-sell-001",
        "scene": "selling",
        "source": "wecom-personal-message",
        "turns": [
            (
                "经纪人",
                "agent",
                "王女士您好，您挂牌的三居室这周有6组客户看过，反馈主要是价格偏高。",
            ),
            ("业主", "customer", "我觉得价格挺合理的，小区环境很好，学区也不错。"),
            ("经纪人", "agent", "理解。同小区近三个月成交价在每平米6.8万左右，您的报价是7.3万。"),
            ("业主", "customer", "那你觉得降到多少合适？我不想降太多。"),
            ("经纪人", "agent", "建议调到7万，更容易在一个月内成交，我把成交记录发您参考。"),
        ],
    },
    {
        "id": "demo-deco-001",
        "scene": "home-improvement",
        "source": "pad-recording",
        "turns": [
            ("设计师", "agent", "您好，我是家装设计师，今天主要确认一下厨房和卫生间的方案。"),
            ("客户", "customer", "厨房想做开放式的，但是担心油烟大。"),
            ("设计师", "agent", "可以加一道玻璃移门，平时打开，炒菜时关上，再配一台侧吸油烟机。"),
            ("客户", "customer", "这个好。预算控制在十五万以内能做完吗？"),
            ("设计师", "agent", "按目前的方案大约十三万，卫生间如果换成进口洁具会超出一些。"),
            ("客户", "customer", "那卫生间先用国产的吧，工期大概多久？"),
            ("设计师", "agent", "正常四十五天左右，开工前我会把详细的进度表发给您。"),
        ],
    },
    {
        "id": "demo-buy-002",
        "scene": "buying",
        "source": "vr-recording",
        "turns": [
            (
                "Agent",
                "agent",
                "Hello! The VR tour shows the three-bedroom flat on the 12th floor.",
            ),
            ("Customer", "customer", "The living room looks small. Is the balcony enclosed?"),
            ("Agent", "agent", "Yes, it is enclosed and adds about six square metres."),
            ("Customer", "customer", "What about the property fee and parking?"),
            ("Agent", "agent", "4.5 yuan per square metre a month; parking rents for 500 a month."),
        ],
    },
]
