"""Word lists behind the name, address and cue-word detectors (data only, no logic)."""

from __future__ import annotations

# About 230 common single-character surnames (together far over 95% of mainland people) and the
# usual compound ones. A name candidate must begin with one of these.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖"
    "田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付"
    "傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫"
    "孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰"
    "焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路"
    "游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬仇栾隋商刁"
    "沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝官封"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "令狐", "端木", "呼延", "独孤", "南宫", "西门", "轩辕", "澹台", "申屠",
    "钟离", "赫连",
)  # fmt: skip

# Titles after a surname: 张先生, 王女士, 李经理, 刘总 ... (longest first in the regex).
TITLES = (
    "先生", "女士", "小姐", "太太", "夫人", "总经理", "副总", "经理", "总监", "主管", "主任",
    "老师", "师傅", "阿姨", "叔叔", "大爷", "大妈", "大姐", "大哥", "律师", "医生", "老板",
    "顾问", "专员", "店长", "工", "总", "董", "姐", "哥", "叔", "姨",
)  # fmt: skip

# Surname + title and 小/老 + surname forms that are ordinary words (施工 "construction", 高工
# "senior engineer", 小米, 小麦, 老路). Other such forms are names even when jieba's
# dictionary lists them (小张, 老马, 王先生).
FORM_NOT_NAMES = frozenset(
    """
    施工 农工 包工 华工 商工 党工 管工 费工 车工 金工 石工 武工 陶工 童工 高工 古董 全总 王爷
    蒙哥 安哥 商董 关爷 文爷 程爷 龙哥 小于 小农 小包 小商 小官 小宫 小康 小房 小曲 小毛 小池
    小熊 小牛 小米 小解 小费 小路 小车 小钱 小麦 小龙 小苗 小童 小景 小石 小时 小金 老农 老官
    老房 老路 老毛 老翁 老成 老庄 老牛 老童 老边
    """.split()
)

# Words that begin with a surname character, that jieba's dictionary tags "nr" (or that its HMM
# calls a name) and that are no names in real-estate dialogues. Checked on the whole token.
NOT_NAMES = frozenset(
    """
    谢谢 谢谢您 谢谢你 谢啦 祝您 祝你 建议您 王府井 王府 王朝 王子 王牌 王国 高档 高层 高峰 高潮
    高铁 高速 高新 高端 高楼 阳光 齐全 安静 明白 文明 文化 康复 宝贵 温泉 温馨 温暖 胡同 金融
    金色 金牌 金地 金茂 黄金 黄金周 白领 白天 白色 方便 方向 方面 方正 方案 万科 万达 万象 万柳
    华润 华侨城 华夏 龙湖 保利 时代 时间 时尚 常住 常规 江景 湖景 海景 林立 林荫 石材 叶子 宁静
    马上 马路 毛坯 周末 周边 周围 周到 周一 周二 周三 周四 周五 周六 周日 张贴 李子 向东 向南
    向西 向北 东方 连锁 连廊 宋庄 唐山 米粉 公园 宫殿 紫禁城 钟楼 鼓楼 景山 景观 景点 蓝天 蓝色
    麦田 宗地 柏林 沙发 沙滩 沙河 雷达 卫星 卫生 卫生间 卫浴 江南 江北 关键 关注 关于 包括 包含
    甘家口 望京 燕郊 顺义 昌平 通州 大兴 亦庄 回龙观 天通苑 安全 安装 安置 安居 申请 成交 成本
    成都 应该 应急 应付 管理 管家 单价 单元 单位 全款 全新 商铺 商业 房东 房子 房源 房价 房贷
    房产 车位 车库 路段 路口 司机 易居 简装 精装 和平 游泳 游泳池 武汉 杭州 苏州 常州 温州 梅州
    严格 项目 程序 谷歌 鲁能 鲍鱼 官方 封顶 欧式 史上 古建 古城 吉利 任何 任意 付款 付清 傅里叶
    于是 余额 余款 余下 舒适 舒服 明天 明年 明显 明细 文件 文字 柳树 杨树 朱家角 田园 田野 熊猫
    牛肉 祁连 卓越 盛世 华府 龙湖 绿地 秦皇岛 陆家嘴 金桥 张江 程度 甄选 邱园 汤泉 全聚德 东来顺
    东方明珠 东方红 向阳 雷雨 凯丽 丽晶 万丽 格林豪 雍和宫 国子监 康福瑞 宝贝 毕业 席位 戴斯
    乔迁 施工 孔雀
    """.split()
)

# A name found by the segmenter is refused when the next word says it names a place or business.
PLACE_SUFFIXES = (
    "酒店",
    "宾馆",
    "饭店",
    "餐厅",
    "餐馆",
    "大厦",
    "广场",
    "公寓",
    "花园",
    "家园",
    "小区",
    "社区",
    "公司",
    "集团",
    "地产",
    "置业",
    "银行",
    "公园",
    "中心",
    "大学",
    "学校",
    "中学",
    "小学",
    "医院",
    "大街",
    "胡同",
    "火锅",
    "烤鸭",
    "地铁",
    "站",
    "路",
    "街",
    "桥",
    "门",
    "村",
    "镇",
    "县",
    "市",
    "区",
    "店",
    "苑",
    "园",
    "府",
    "城",
    "湾",
    "居",
    "坊",
    "寺",
    "庙",
    "宫",
    "楼",
    "阁",
    "馆",
    "院",
    "庄",
    "山",
    "湖",
    "河",
    "港",
)

# Role words that are no person names when they stand as a speaker.
ROLE_WORDS = frozenset(
    """
    agent customer user assistant system bot client staff operator seller buyer tenant landlord
    客服 客户 顾客 经纪人 置业顾问 销售 房东 租客 买家 卖家 业主 系统 机器人 用户 坐席 我 你 他
    她
    """.split()
)

# Pinyin surnames (and common Cantonese / Wade-Giles spellings) for names in English text.
PINYIN_SURNAMES = frozenset(
    """
    Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo Zheng
    Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Yuan Pan Yu Jiang Cai Du Ye
    Cheng Su Wei Lu Ding Ren Shen Yao Cui Zhong Tan Fan Jin Shi Liao Jia Xia Fu Fang Bai Zou
    Meng Xiong Qin Qiu Yin Xue Yan Duan Lei Hou Long Tao Gu Mao Hao Gong Shao Wan Qian Dai Mo
    Kong Xiang Wen Kang Niu Ge Xing Qi Qiao Pang Ni Zhuang Nie Yue Zhai Zhan Ou Geng Guan Lan
    Jiao Zuo Gan Bao Ning Shang Shu Ruan Ke Ji Mei Tong Ling Bi Pei Huo Tu Miao Qu Weng Ran
    Ouyang Sima Zhuge Situ Shangguan Murong Chan Wong Cheung Lee Lau Ng Ho Leung Chow Tse Yeung
    Lam Kwok Tsang Chang Hsu Tsai Kuo Hsieh Chiu Tsui Fung Yip Mak Choi Kwan Chu Koo Soo Siu Lo
    Tam Yiu Au Kan
    """.split()
)

# Common English given names, for "First Last" names in English text.
ENGLISH_GIVEN_NAMES = frozenset(
    """
    James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel
    Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kevin Brian George Timothy Ronald
    Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott
    Brandon Benjamin Samuel Frank Gregory Alexander Patrick Jack Dennis Peter Tyler Aaron Henry
    Adam Nathan Zachary Kyle Walter Harold Jeremy Ethan Carl Keith Roger Arthur Terry Lawrence
    Sean Christian Austin Noah Lucas Oliver Leo Max Tony Vincent Alan Alex Ben Sam Tom Tim Mike
    Jim Joe Dan Ken Eddie Jerry Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica
    Sarah Karen Lisa Nancy Betty Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol
    Amanda Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley
    Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet
    Catherine Maria Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly
    Christina Joan Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann
    Sara Madison Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris
    Marilyn Danielle Beverly Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla
    Alexis Lori Lily Lucy Vivian Cindy Coco Fiona Gina Iris Irene Ivy Jane Jenny Joy Kate Lena
    Mia Nina Rose Sophie Stella Tina Wendy Yvonne Zoe Eva Ella Chloe Bella
    """.split()
)

# Capitalised words that the English cue patterns ("this is X", "I'm X") must not take as names.
ENGLISH_NOT_NAMES = frozenset(
    """
    I A An The This That It He She We They You My Your Our His Her Their Its Yes No Not Sorry
    Thanks Thank Hello Hi Dear Sir Madam Mr Mrs Ms Miss Dr Please OK Okay Sure Good Great Fine
    Just Also Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
    April May June July August September October November December Beijing Shanghai Shenzhen
    Guangzhou Hangzhou Chengdu Wuhan Nanjing Tianjin China Chinese English Chaoyang Haidian
    Pudong Xuhui Jingan Futian Nanshan Dongcheng Xicheng Fengtai Wangjing Sanlitun Lujiazui Room
    Building Unit Floor Road Street Avenue District Lane Apartment Tower Garden Park Plaza
    Center Centre WeChat QQ Alipay Lianjia Beike Vanke Wanda Agent Manager Landlord Tenant Owner
    Buyer Seller Interested Calling Looking Happy Available Here There Still Ready Free Busy
    Coming Going Leaving Back Done Home Call Ask Email Text Send Meet Contact Tell Let See Visit
    Thanks Regards Best Welcome Congrats
    """.split()
)

# Characters common in given names. A surname the segmenter left on its own, followed by one or
# two of these (尹|建华, 邹|婷婷, 王雨|萱), is taken as a full name unless the whole is a
# dictionary word that is no name (高明, 金华, 王国). Very general characters (一 大 天 中 家 小
# 山 水 ...) are left out: they make words, not names, with a surname in front.
GIVEN_CHARS = frozenset(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志海燕晓东文博涵雨萱浩然欣怡俊思"
    "远辉婷玉淑珍春梅宇航梓轩鸣佳琪晨阳永德红立新振鹏飞斌宁凯健林波鑫琳颖倩雪慧莉萍玲芬梦蕾"
    "薇璐瑶琦欢悦彤馨妍诗婉雅语若依嘉逸宸睿泽煜皓铭昊翔哲瑞峰毅彬松柏成龙虎豪凡帆庆福贵荣祥"
    "金宝江清源康喜秋冬月星亮云兵武胜利民旭晖昕晴曦媛娇妮娥凤翠菊莲芝蓉霖泉森岩钢锋锐勤俭"
    "义仁忠信礼智贤良善宏卫保树根富友朋广士学彦希承继孟仲维达耀昌盛隆顺泰寿鹤鸿雁丹青紫秀"
    "茂芸蕊冰洁玥琛璇瑾瑜珊琼瑛珂晶莹滢溪澜沛润沁淼潇湘娟桦楠柳杉宜蓓婧娴嫣岚菲琴瑟笑颜"
    "子小玲琳霏露云凌灵伶聪颖敏慧捷迪笛蒂帝钰铭锦绣绮纯纹绍经纬缘继翰翎"
    "艺艾芊芮芷苇苒茜荔莎莉萌萧葳蔚蓝薰虹蝶衡裕诚谦谨豫贞赫超越跃轩辰达迎远逸道遥邦郁醒"
    "钧铎锟镇长闯阔雄雅雯霄霆静韬韵顺颂飒香驰骏骁鹃鹰麒麟黛鼎龄宣容寒尧岳峻崇嵩川巍帅"
    "延廷彪彤影征徽心志忆怀恒恩悦惠愉意慈懿成戈才抒振放政敬斐斯新方旭旺昂昆昭晋景晟智曼"
    "朗朝杭杰松林柯栋树桐梁森楷榕樱欣歌正武毓民永汉汐沐沛河治泓波泽洪津洲浩涌淳深清渊湛源"
    "溢滨潮澄澈灿炎炜烁烨焕煌熙燊爽牧犇玄玮珏珑琅瑞璋环甜生田甫男畅登皓益盈真睿瞻知石磊祖"
    "祺禹秀程稳穆童竹笙筠策简箫粲纪纲维缨罡羽翊翠耕聚胤舜航良芃芬芯芸"
)
