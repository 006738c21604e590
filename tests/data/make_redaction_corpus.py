"""Writes tests/data/redaction_corpus.jsonl: real-estate dialogue sentences with planted,
invented personal data, and hard negatives. Deterministic (fixed seed); run from the repo root:

    .venv/bin/python tests/data/make_redaction_corpus.py

Each line: {"lang": "zh" | "en", "set": "dev" | "holdout", "text": ..., "spans": [{"type": ...,
"value": ...}]}; the spans
list exactly what must be found ("value" is the text as it stands in "text": full-width digits,
zero-width characters and all). Sentences without spans are hard negatives: nothing in them may
be redacted. All numbers are generated (check digits computed here, independently of the code
under test); all names are invented combinations of common surnames and given names.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

SEED = 20250101
OUT = Path(__file__).with_name("redaction_corpus.jsonl")
ZW = "\u200b"

rng = random.Random(SEED)

# ------------------------------------------------------------------------------------ values


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def zero_width(text: str) -> str:
    """Zero-width spaces between some digit groups."""
    out = []
    for i, c in enumerate(text):
        out.append(c)
        if c.isdigit() and i in (2, 6) and i + 1 < len(text):
            out.append(rng.choice([ZW, "\u200c", "\u2060", "\ufeff"]))
    return "".join(out)


MOBILE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "198", "199",
]  # fmt: skip


def mobile() -> str:
    digits = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
    a, b, c = digits[:3], digits[3:7], digits[7:]
    style = rng.randrange(10)
    return [
        digits,
        digits,
        f"{a} {b} {c}",
        f"{a}-{b}-{c}",
        f"+86 {a} {b} {c}",
        f"+86-{a}-{b}-{c}",
        f"+86{digits}",
        full_width(digits),
        zero_width(digits),
        f"(+86) {digits}",
    ][style]


AREAS = {
    "010": 8, "020": 8, "021": 8, "022": 8, "023": 8, "024": 8, "025": 8, "027": 8, "028": 8,
    "029": 8, "0755": 8, "0571": 8, "0512": 8, "0532": 8, "0731": 8, "0591": 8, "0871": 8,
}  # fmt: skip


def landline() -> str:
    area = rng.choice(sorted(AREAS))
    local = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(7))
    style = rng.randrange(9)
    return [
        f"{area}-{local}",
        f"{area}-{local}",
        f"({area}){local}",
        f"（{area}）{local[:4]} {local[4:]}",
        f"{area} {local[:4]} {local[4:]}",
        f"+86-{area[1:]}-{local}",
        f"+86 {area[1:]} {local[:4]} {local[4:]}",
        f"{area}-{local[:4]}-{local[4:]}",
        full_width(f"{area}-{local}"),
    ][style]


def local_number() -> str:
    local = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(7))
    return rng.choice([local, f"{local[:4]} {local[4:]}", f"{local[:4]}-{local[4:]}"])


def service_number() -> str:
    return f"400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


REGIONS = [
    "110105", "110108", "310104", "310115", "440305", "440106", "330106", "510107", "420106",
    "320102", "370202", "120101", "610113", "500103", "350203", "430104", "210102", "410105",
    "130102", "530102", "220102", "340104", "360102", "450103", "520102", "620102", "650102",
]  # fmt: skip

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_check(body17: str) -> str:
    total = sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def birth_date(lo: int = 1950, hi: int = 2004) -> str:
    year = rng.randint(lo, hi)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    return f"{year:04d}{month:02d}{day:02d}"


def luhn_ok(number: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(number)):
        n = int(d)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def id18(want_x: bool = False) -> str:
    while True:
        body = rng.choice(REGIONS) + birth_date() + f"{rng.randint(0, 999):03d}"
        number = body + id_check(body)
        if want_x == number.endswith("X"):
            return number


def id18_styled() -> str:
    number = id18(want_x=rng.random() < 0.3)
    style = rng.randrange(6)
    if style == 3:
        return f"{number[:6]} {number[6:14]} {number[14:]}"
    if style == 4:
        return full_width(number)
    if style == 5 and number.endswith("X"):
        return number[:-1] + "x"
    return number


def id18_invalid() -> str:
    """18 digits that look like an ID but fail the check digit (and the Luhn check)."""
    while True:
        body = rng.choice(REGIONS) + birth_date() + f"{rng.randint(0, 999):03d}"
        right = id_check(body)
        wrong = rng.choice([d for d in "0123456789" if d != right])
        number = body + wrong
        if not luhn_ok(number):
            return number


def id15() -> str:
    return rng.choice(REGIONS) + birth_date(1940, 1980)[2:] + f"{rng.randint(0, 999):03d}"


CARD_BINS = ["622202", "621700", "622848", "621483", "622588", "601382", "622700", "621226",
             "436742", "455952", "518710", "552801"]  # fmt: skip


def card_digits(length: int | None = None) -> str:
    length = length or rng.choice([16, 16, 17, 19, 19, 18])
    body = rng.choice(CARD_BINS) + "".join(rng.choice("0123456789") for _ in range(length - 7))
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError


def card() -> str:
    number = card_digits()
    style = rng.randrange(6)
    if style in (1, 2):
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style == 3:
        return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style == 4:
        return full_width(number)
    return number


def non_luhn(length: int, first: str = "2") -> str:
    while True:
        number = first + "".join(rng.choice("0123456789") for _ in range(length - 1))
        if not luhn_ok(number):
            return number


PINYIN = ["zhang", "wang", "li", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu",
          "sun", "hu", "zhu", "gao", "lin", "he", "guo", "ma", "luo"]  # fmt: skip
GIVEN_PINYIN = ["wei", "fang", "jianguo", "xiaodong", "lihua", "min", "jing", "lei", "yang",
                "yong", "jun", "jie", "tao", "chao", "xia", "ping", "gang", "hui",
                "ying"]  # fmt: skip
DOMAINS = ["163.com", "126.com", "qq.com", "gmail.com", "sina.com", "outlook.com",
           "example.com", "foxmail.com", "hotmail.com", "example.cn",
           "mail.example.org"]  # fmt: skip


def email() -> str:
    sep = rng.choice(["", ".", "_", ""])
    local = rng.choice(GIVEN_PINYIN) + sep + rng.choice(PINYIN)
    if rng.random() < 0.5:
        local += str(rng.randint(1, 2024))
    if rng.random() < 0.1:
        local = str(rng.randint(10000, 999999999))
    value = f"{local}@{rng.choice(DOMAINS)}"
    if rng.random() < 0.1:
        value = value.replace("@", "＠")
    return value


def wechat_id() -> str:
    return rng.choice(
        [
            lambda: rng.choice(PINYIN) + "_" + rng.choice(GIVEN_PINYIN) + str(rng.randint(1, 99)),
            lambda: rng.choice(GIVEN_PINYIN) + rng.choice(PINYIN) + str(rng.randint(1970, 2010)),
            lambda: (
                rng.choice(["Lily", "Tony", "Coco", "Kevin", "Amy"])
                + "-"
                + str(rng.randint(100, 9999))
            ),
            lambda: "wx" + rng.choice(PINYIN) + str(rng.randint(1000, 99999)),
        ]
    )()


def qq() -> str:
    return str(rng.randint(10000, 3999999999))


def password() -> str:
    return rng.choice(
        [
            lambda: (
                rng.choice(["Abc", "Sunny", "Home", "Lj", "Fang", "Wj"])
                + rng.choice(["@", "#", "_", ""])
                + str(rng.randint(100, 99999))
            ),
            lambda: str(rng.randint(100000, 999999)),
            lambda: rng.choice(PINYIN) + str(rng.randint(1970, 2024)),
            lambda: str(rng.randint(1000, 9999)) + rng.choice(["#", "*", ""]),
            lambda: rng.choice(["qwer", "asdf", "zxcv"]) + str(rng.randint(1000, 9999)),
        ]
    )()


def code() -> str:
    n = rng.choice([4, 6, 6, 6])
    value = "".join(rng.choice("0123456789") for _ in range(n))
    if n == 6 and rng.random() < 0.15:
        value = f"{value[:3]} {value[3:]}"
    return value


def account() -> str:
    return rng.choice(
        [
            lambda: non_luhn(rng.choice([10, 12, 13, 14]), first=rng.choice("123456789")),
            lambda: (
                rng.choice(PINYIN)
                + rng.choice(["_", ".", ""])
                + rng.choice(GIVEN_PINYIN)
                + str(rng.randint(1, 999))
            ),
            lambda: "VIP" + str(rng.randint(10000000, 99999999)),
            lambda: non_luhn(rng.choice([16, 19]), first="6"),
        ]
    )()


SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡"
    "余杜叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹孟熊秦邱江尹薛段雷侯"
)
GIVEN = ["建国", "晓东", "丽华", "志强", "秀英", "桂兰", "海燕", "文博", "子涵", "雨萱", "浩然",
         "欣怡", "俊杰", "思远", "明辉", "婷婷", "伟", "芳", "敏", "静", "磊", "强", "洋", "勇",
         "军", "杰", "娟", "涛", "超", "霞", "平", "刚", "玉兰", "建华", "国强", "淑珍", "春梅",
         "宇航", "梓轩", "一鸣", "佳琪", "晨阳", "永刚", "德明", "小红", "立新", "振华",
         "秀兰"]  # fmt: skip
TITLES = ["先生", "女士", "经理", "小姐", "总", "老师", "姐", "师傅", "阿姨", "工"]


def cn_full_name() -> str:
    surname = rng.choice(SURNAMES) if rng.random() > 0.04 else rng.choice(["欧阳", "司马", "诸葛"])
    return surname + rng.choice(GIVEN)


def cn_title_name() -> str:
    return rng.choice(SURNAMES) + rng.choice(TITLES)


def cn_small_old() -> str:
    return rng.choice("小老") + rng.choice("王李张刘陈杨赵吴周徐孙朱郭何林罗郑梁谢宋唐韩冯邓曹")


EN_GIVEN = ["David", "Emily", "Sarah", "Michael", "Jennifer", "Kevin", "Linda", "Tony", "Amy",
            "Jason", "Vivian", "Eric", "Helen", "Peter", "Cindy"]  # fmt: skip
EN_SURNAMES = ["Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu",
               "Sun", "Lin", "Smith", "Brown", "Johnson", "Miller", "Wilson"]  # fmt: skip


def en_full_name() -> str:
    if rng.random() < 0.35:
        return rng.choice(EN_SURNAMES[:13]) + " " + rng.choice(GIVEN_PINYIN).capitalize()
    return rng.choice(EN_GIVEN) + " " + rng.choice(EN_SURNAMES)


def en_title_name() -> str:
    title = rng.choice(["Mr.", "Ms.", "Mrs.", "Mr", "Ms", "Manager", "Miss"])
    return f"{title} {rng.choice(EN_SURNAMES)}"


CN_ADDRESSES = [
    "朝阳区望京西路{n}号院{b}号楼{u}单元{r}",
    "北京市海淀区中关村大街{n}号",
    "海淀区学院路{n}号{b}号楼{r}室",
    "上海市黄浦区南京东路{n}号",
    "徐汇区淮海中路{n}弄{b}号{r}室",
    "深圳市南山区科技园南路{n}号",
    "福田区深南大道{n}号{b}栋{r}",
    "广州市天河区天河路{n}号",
    "杭州市西湖区文三路{n}号{b}幢{u}单元{r}",
    "东城区东四北大街{n}号",
    "西城区南锣鼓巷{n}号",
    "成都市武侯区人民南路{n}号{b}栋{u}单元{r}号",
    "武汉市江汉区解放大道{n}号",
    "建国路{n}号{b}号楼{r}",
    "南京市鼓楼区中山北路{n}号",
    "丰台区科学城富丰路{n}号",
    "长宁区延安西路{n}号{b}-{u}-{r}",
    "天津市和平区南京路{n}号",
]
CN_COMPOUNDS = ["阳光花园", "万科城", "龙湖天街小区", "金色家园", "碧水湾", "翠湖苑", "幸福里小区"]


def cn_address() -> str:
    nums = {
        "n": rng.randint(1, 999),
        "b": rng.randint(1, 20),
        "u": rng.randint(1, 6),
        "r": rng.choice([101, 202, 301, 501, 602, 1202, 1503, 2101]),
    }
    if rng.random() < 0.15:
        compound = rng.choice(CN_COMPOUNDS)
        return f"{compound}{nums['b']}{rng.choice(['栋', '号楼'])}{nums['u']}单元{nums['r']}"
    return rng.choice(CN_ADDRESSES).format(**nums)


EN_STREETS = ["Wangjing West Road", "Jianguo Road", "Nanjing East Road", "Huaihai Middle Road",
              "Century Avenue", "Xueyuan Road", "Tianhe Road", "Changle Road",
              "Fuxing Road"]  # fmt: skip


def en_address() -> str:
    street = rng.choice(EN_STREETS)
    number = rng.randint(1, 999)
    return rng.choice(
        [
            f"No. {number} {street}",
            f"{number} {street}",
            f"Room {rng.choice([501, 1202, 303])}, Building {rng.randint(1, 12)}, "
            f"No. {number} {street}",
            f"Unit {rng.randint(1, 6)}, Building {rng.randint(1, 12)}, {number} {street}",
            f"Apt {rng.randint(101, 2505)}, {number} {street}",
        ]
    )


GENERATORS: dict[str, Callable[[], str]] = {
    "MOBILE": mobile,
    "LANDLINE": landline,
    "LOCAL": local_number,
    "SERVICE": service_number,
    "IDNEW": id18_styled,
    "IDOLD": id15,
    "CARD": card,
    "EMAIL": email,
    "WECHAT": wechat_id,
    "QQ": qq,
    "PASSWORD": password,
    "CODE": code,
    "ACCOUNT": account,
    "ADDRESS": cn_address,
    "NAME": cn_full_name,
    "TNAME": cn_title_name,
    "SNAME": cn_small_old,
    "ENADDRESS": en_address,
    "ENNAME": en_full_name,
    "ENTNAME": en_title_name,
    # hard-negative values (no span)
    "BADID": id18_invalid,
    "ORDERNO": lambda: non_luhn(rng.choice([16, 17, 18, 19])),
}
TYPE_OF = {
    "MOBILE": "PHONE",
    "LANDLINE": "PHONE",
    "LOCAL": "PHONE",
    "SERVICE": "PHONE",
    "IDNEW": "ID",
    "IDOLD": "ID",
    "CARD": "CARD",
    "EMAIL": "EMAIL",
    "WECHAT": "WECHAT",
    "QQ": "QQ",
    "PASSWORD": "PASSWORD",
    "CODE": "CODE",
    "ACCOUNT": "ACCOUNT",
    "ADDRESS": "ADDRESS",
    "NAME": "NAME",
    "TNAME": "NAME",
    "SNAME": "NAME",
    "ENADDRESS": "ADDRESS",
    "ENNAME": "NAME",
    "ENTNAME": "NAME",
}
SLOT = re.compile(r"\{([A-Z]+)(\d?)\}")
LITERAL = re.compile(r"\[\[([A-Z]+):([^\]]+)\]\]")  # [[NAME:程经理]]: a planted literal

# ------------------------------------------------------------------------------------ templates
# {SLOT} is filled with a fresh value; {SLOT1}, {SLOT2} name distinct values that may repeat.

ZH_TEMPLATES = [
    # phones
    "您好，我是{TNAME}，我的手机是{MOBILE}，有合适的房源麻烦跟我说一声。",
    "电话{MOBILE}谢谢",
    "我手机号{MOBILE}，微信同号。",
    "您记一下我的号码：{MOBILE}，白天都能打通。",
    "联系电话{MOBILE}，晚上八点以后别打了。",
    "房东电话是{MOBILE}，您直接联系他就行。",
    "门店座机{LANDLINE}，工作日九点到六点有人接。",
    "您打我们公司电话{LANDLINE}转前台也行。",
    "我办公室电话{LANDLINE}，手机{MOBILE}。",
    "打{MOBILE}找我，或者打{LANDLINE}。",
    "座机{LOCAL}，区号不用加。",
    "客服热线{SERVICE}，有问题随时打。",
    "我换号了，新号码{MOBILE1}，之前那个{MOBILE2}不用了。",
    "再确认一下，是{MOBILE1}对吧？对，{MOBILE1}。",
    "刚才{MOBILE}打过来的是您吗？",
    "加我微信吧，就是手机号{MOBILE}。",
    "业主{NAME}的电话{MOBILE}，他说周末可以看房。",
    "{SNAME}，你把{NAME}的号码{MOBILE}发我一下。",
    "售楼处电话{LANDLINE}，周一到周日都营业。",
    "我爱人电话是{MOBILE}，我不在的话找她。",
    # IDs
    "签合同需要身份证，我的是{IDNEW}。",
    "身份证号码{IDNEW}，名字是{NAME}。",
    "我老婆的身份证{IDNEW}，网签用她的名字。",
    "老身份证是15位的：{IDOLD}，还没换新的。",
    "我爸的身份证号{IDOLD}，十几年前办的。",
    "证件号{IDNEW}，您核对一下。",
    "购房人{NAME}，身份证号{IDNEW}，电话{MOBILE}。",
    "麻烦登记一下：{IDNEW}。",
    # cards
    "定金打到这张卡：{CARD}，户名{NAME}。",
    "我的银行卡号是{CARD}，工商银行的。",
    "退款原路退回到尾号那张卡吗？卡号{CARD}。",
    "房租每月打到{CARD}，开户行招商银行。",
    "卡号{CARD}，持卡人{NAME}。",
    "首付从这张卡扣：{CARD}。",
    # e-mails
    "合同扫描件发我邮箱{EMAIL}就行。",
    "邮箱是{EMAIL}，收到回复一下。",
    "我的邮箱{EMAIL}，户型图发一份给我吧。",
    "请把报价单发到{EMAIL}，谢谢。",
    "你发{EMAIL}吧，公司邮箱收不到外部邮件。",
    # WeChat / QQ
    "我微信号{WECHAT}，加的时候备注看房。",
    "微信：{WECHAT}，视频看房也可以。",
    "加一下VX {WECHAT}，我把实拍图发你。",
    "wx: {WECHAT} 备注链家",
    "我的V信是{WECHAT}。",
    "微信号是{WECHAT}，头像是一只猫。",
    "QQ号{QQ}，文件大的话用QQ传。",
    "我QQ：{QQ}，有事QQ上留言。",
    "扣扣{QQ}，晚上在线。",
    "你加我qq {QQ}，群里有房源。",
    # passwords / codes
    "密码锁的密码是{PASSWORD}，进门后记得改。",
    "门锁密码{PASSWORD}，看完房帮忙锁好门。",
    "WiFi密码是{PASSWORD}，房东留的。",
    "登录密码：{PASSWORD}，你先用我账号看看。",
    "密码是{PASSWORD}，别告诉别人。",
    "我把密码改成{PASSWORD}了。",
    "验证码是{CODE}，您报一下给我。",
    "验证码{CODE}，五分钟内有效。",
    "短信验证码：{CODE}，我念给你听。",
    "刚收到的动态码是{CODE}。",
    "网签要验证码，我手机上显示{CODE}。",
    "校验码{CODE}，麻烦帮我填一下。",
    # accounts
    "公积金账号{ACCOUNT}，贷款要用。",
    "我的账号是{ACCOUNT}，密码是{PASSWORD}。",
    "收款账户：{ACCOUNT}，开户行建设银行。",
    "会员号{ACCOUNT}，积分能抵物业费吗？",
    "用户名{ACCOUNT}，APP上登录不了。",
    "登录账号：{ACCOUNT}",
    # addresses
    "我现在住在{ADDRESS}，离公司有点远。",
    "房子地址是{ADDRESS}，您导航过来就行。",
    "快递寄到{ADDRESS}，收件人{NAME}。",
    "看房地点：{ADDRESS}，下午三点见。",
    "我家在{ADDRESS}，门口有个便利店。",
    "那套房子挨着{ADDRESS}，走路五分钟到地铁。",
    "钥匙放在{ADDRESS}的物业前台了。",
    "租的房子在{ADDRESS}，想换个大点的。",
    # names
    "我叫{NAME}，想在附近买套两居室。",
    "您好，我是{NAME}，昨天约了看房的。",
    "房东{NAME}说价格还能谈。",
    "{NAME}明天上午过来签合同。",
    "业主{NAME}同意降五万了。",
    "签约人是{NAME}，共有人是{NAME2}。",
    "联系人：{NAME}",
    "麻烦找一下{NAME}，他负责这个小区。",
    "{NAME}和{NAME2}是夫妻，房产证上写两个人的名字。",
    "请问是{NAME}吗？我是链家的经纪人。",
    "这套房是{NAME}挂的，他出差了。",
    "我替{NAME}问一下，他想租个一居室。",
    "{TNAME}您好，您看的那套房还在。",
    "{TNAME}，房东同意了，您看哪天签约？",
    "我刚跟{TNAME}沟通过了，下午带您去看。",
    "让{TNAME}跟您对接贷款的事。",
    "{TNAME}说首付可以分两次付。",
    "这个小区是{TNAME}负责的。",
    "{SNAME}，你带客户去看一下3号楼那套。",
    "我已经让{SNAME}把钥匙送过去了。",
    "找{SNAME}就行，他在店里。",
    "{SNAME}昨天刚带看过。",
    "我是{TNAME}的同事，他今天休息。",
    "客户{NAME}的预算在三百万左右。",
    "经纪人{NAME}会联系您。",
    "{NAME}是我们店的店长。",
    "转账备注写{NAME}就可以。",
    "买方{NAME}，卖方{NAME2}，今天下午网签。",
    "我爱人{NAME}也要来看房。",
    "{NAME}，你下午有空吗？",
    # mixed
    "{TNAME}，您的身份证{IDNEW}和银行卡{CARD}都登记好了。",
    "我是{NAME}，电话{MOBILE}，邮箱{EMAIL}，住在{ADDRESS}。",
    "联系人{NAME}，手机{MOBILE}，微信{WECHAT}。",
    "租客{NAME}，身份证{IDNEW}，租期一年。",
    "{TNAME}的手机{MOBILE}，您存一下。",
    "把合同发到{EMAIL}，抄送{TNAME}。",
    "这是{NAME}的卡号{CARD}，押金退到这里。",
]

ZH_NEGATIVES = [
    "这套房子总价598万，建面89平，6层，2008年的房子。",
    "单价6.5万一平，首付三成大概要180万。",
    "月租5800元，押一付三，物业费3.5元每平米。",
    "3号楼2单元还有一套两居室，朝南。",
    "501室采光很好，客厅朝南，主卧带飘窗。",
    "小区一共12栋楼，容积率2.5，绿化率35%。",
    "离地铁14号线望京站步行8分钟。",
    "2024年3月15日下午3点看房，可以吗？",
    "房龄15年，2009年建成，满五唯一。",
    "三室一厅一卫，面积120平米，中楼层。",
    "共32层，这套在18楼，视野很好。",
    "阳光充足，家电齐全，小区安静，拎包入住。",
    "谢谢您，我明白了，回去跟家里商量一下。",
    "周末早高峰堵车，建议周末上午来看。",
    "王府井附近的房子比较贵，望京性价比高一些。",
    "万科和龙湖的盘都不错，保利的物业也好。",
    "这边是金融街，黄金地段，配套成熟。",
    "小区很温馨，东边有个公园，周边有三所小学。",
    "我们用的是小程序看房，小时候住的老胡同早拆了。",
    "高总价的房子不好卖，小高层的更受欢迎。",
    "公司经理说这个月业绩要冲一下。",
    "小区正在施工，下个月封顶。",
    "老小区没有电梯，小户型适合单身。",
    "我老公觉得太贵了，孩子的老师也住这个小区。",
    "密码锁是新换的，忘记密码可以找物业。",
    "验证码发到你手机上了，你看一下。",
    "账号密码都在APP里，您自己登录看看。",
    "验证码5分钟内有效，过期了重新获取。",
    "密码是多少我也不清楚，得问房东。",
    "订单号{ORDERNO}，您在APP里可以查到。",
    "合同编号{ORDERNO}，请妥善保管。",
    "备案号{ORDERNO}，网上可以查备案信息。",
    "这个证件号{BADID}好像不对，校验不过，您再核对一下。",
    "您给的号码{BADID}少了一位还是错了一位？系统说无效。",
    "这边两居室的挂牌价在400-450万之间。",
    "税费大概是总价的3%，契税1%。",
    "首付比例30%，贷款30年，利率3.95%。",
    "带看时间10:30-11:30，地点在售楼处。",
    "地铁10号线和13号线换乘，去国贸20分钟。",
    "2号口出来右转，走200米就到。",
    "车位价格25万一个，月租600元。",
    "学区房，对口的是实验二小。",
    "这个户型得房率80%，公摊比较小。",
    "物业电话在电梯里贴着，您可以看一下。",
    "加个微信吧，我扫您。",
    "您方便的时候给我回个电话。",
    "东方明珠附近的房子租金太高了。",
    "向南的房间采光好，马上就能入住。",
    "石材台面，实木地板，精装修交付。",
    "这个价格很方便谈，房东常住国外。",
    "楼下就是叶子便利店，隔壁是宁静公园。",
    "江景房和湖景房价格差了一百多万。",
    "康复医院就在旁边，老人看病方便。",
    "文明小区，宝贵意见我们会转达。",
    "早上七点到九点是高峰，白天人不多。",
    "2024-03-15签的合同，2025/03/14到期。",
    "我们店里有12个经纪人，3个店长。",
    "这套房子的房本号我回头拍给您。",
    "装修花了30万，家具家电都是2023年买的。",
    "二手房交易要交个税1%，增值税满两年免征。",
    "您预算多少？300万以内的话可以看看通州。",
    "楼间距50米，南北通透，东西两侧都有窗。",
    "我们约周六上午9点半，在2号楼楼下见。",
    "这个盘是2019年交房的，开发商是华润。",
    "金地的房子质量不错，就是离地铁远。",
    "高层视野好，低层方便，各有各的好。",
    "小孩上学的话，推荐看看学院路附近。",
    "房东人很好，也很好说话。",
    "物业费一年大概4000多块钱。",
    "三居室在售的有5套，两居室有8套。",
    "第1期和第2期都交房了，第3期在建。",
    "朝阳区的房价这两年降了15%左右。",
    "售楼处在科技园南路，周末人多。",
    "中关村大街那边写字楼多，租房需求大。",
]

EN_TEMPLATES = [
    "Hi, this is {ENTNAME} from the agency, you can reach me on {MOBILE}.",
    "My number is {MOBILE}, WeChat is the same.",
    "Please call the landlord at {MOBILE} before you go.",
    "Our office line is {LANDLINE}, open Monday to Friday.",
    "You can call {LANDLINE} or text {MOBILE}.",
    "The hotline is {SERVICE} if you have any questions.",
    "My new number is {MOBILE1}; {MOBILE2} is no longer in use.",
    "Just to confirm, {MOBILE1}? Yes, {MOBILE1}.",
    "Please send the contract to {EMAIL}.",
    "My email is {EMAIL}, I'll check it tonight.",
    "You can email {EMAIL} or my assistant.",
    "My WeChat ID is {WECHAT}, add me and I'll send photos.",
    "Add me on WeChat: {WECHAT}",
    "My QQ number is {QQ}.",
    "The Wi-Fi password is {PASSWORD}.",
    "The password for the smart lock is {PASSWORD}, please change it after moving in.",
    "Password: {PASSWORD}",
    "Your verification code is {CODE}, it expires in five minutes.",
    "The door code is {CODE}.",
    "I got the code: {CODE}, can you enter it for me?",
    "The security code is {CODE}.",
    "Please transfer the deposit to account number {ACCOUNT}.",
    "My username is {ACCOUNT} on the rental app.",
    "Bank account: {ACCOUNT}, Bank of China.",
    "My ID number is {IDNEW}.",
    "Here is my ID card number: {IDNEW}, please check it.",
    "The card number is {CARD}, it's a UnionPay card.",
    "Please refund the deposit to my card {CARD}.",
    "The apartment is at {ENADDRESS}.",
    "I live at {ENADDRESS}, near the subway.",
    "Please deliver the keys to {ENADDRESS}.",
    "My name is {ENNAME}, I'm looking for a two-bedroom flat.",
    "The landlord is {ENNAME}, he lives abroad.",
    "{ENNAME} will show you the apartment tomorrow.",
    "Please ask for {ENNAME} at the front desk.",
    "{ENTNAME} said the price is negotiable.",
    "Good morning {ENTNAME}, the flat is still available.",
    "I talked to {ENTNAME} and she agreed to lower the rent.",
    "The tenant, {ENNAME}, wants to renew the lease.",
    "{ENNAME} and {ENNAME2} are co-owners of the property.",
    "Hello, this is {ENNAME} speaking.",
    "I'm {ENNAME}, we spoke yesterday about the Jianguo Road flat.",
    "Contact person: {ENNAME}, phone {MOBILE}.",
    "{ENTNAME}, your ID {IDNEW} and card {CARD} are registered.",
    "I'm {ENNAME}, phone {MOBILE}, email {EMAIL}.",
    "The owner {ENTNAME} can be reached at {LANDLINE}.",
]

EN_NEGATIVES = [
    "The asking price is 5.98 million yuan for 89 square meters.",
    "It's on the 6th floor of a 32-storey building, built in 2008.",
    "Room 501 faces south and gets a lot of sunlight.",
    "Building 3 has two units left, both two-bedroom.",
    "The rent is 5,800 yuan a month, one month's deposit and three months in advance.",
    "Line 10 and Line 13 meet at the station, 8 minutes on foot.",
    "The zip code is 100020.",
    "Dial the area code 010 first if you call from another city.",
    "Scan the QR code at the gate to register as a visitor.",
    "The Wi-Fi is password protected; ask the landlord.",
    "The password is wrong, please try again.",
    "The verification code has expired.",
    "Our account manager will follow up next week.",
    "My account is frozen, so I'll pay by card tomorrow.",
    "Call me tomorrow morning, please.",
    "There is a grace period of five days for the rent.",
    "May I ask how many bedrooms you need?",
    "The compound is called Rose Garden, next to Park View.",
    "We signed on 2024-03-15 and the lease ends on 2025-03-14.",
    "The management fee is 3.5 yuan per square meter.",
    "It's a three-bedroom flat with two bathrooms, about 120 square meters.",
    "The down payment is 30% and the mortgage rate is 3.95%.",
    "The viewing is at 10:30 tomorrow at the sales office.",
    "Order number {ORDERNO} is in the app.",
    "Contract number {ORDERNO}, please keep it safe.",
    "Thanks, I understand, I'll discuss it with my family.",
    "The flat is fully furnished and ready to move in.",
    "The sales office is on Century Avenue, near the park.",
    "Chinese New Year is a slow season for rentals.",
    "The building has 18 floors and 4 elevators.",
    "The community has 12 buildings and a kindergarten.",
    "Please check the code of conduct for tenants.",
    "Enter the promo code at checkout for a discount.",
    "Will you be available on Saturday at 9:30?",
    "We can mark the date in the calendar.",
    "The property tax is about 1% of the price.",
    "There are 5 three-bedroom units and 8 two-bedroom units for sale.",
    "The school district is one of the best in Haidian.",
    "Parking spaces cost 250,000 yuan each or 600 a month.",
    "The ID you entered failed the check; {BADID} is not valid.",
]

# ---------------------------------------------------------------------------------- held out
# Written after the detectors were tuned on the sets above and not tuned against afterwards
# except for general bugs (see the README): their figures are the honest ones.

ZH_HOLDOUT = [
    "行，那我留个电话，{MOBILE}，有房了您打给我。",
    "这是我家座机{LANDLINE}，白天没人接的话打手机。",
    "{NAME}（身份证{IDNEW}）委托我们出售该房产。",
    "客户资料：{NAME}，{MOBILE}，{EMAIL}",
    "打款信息：户名{NAME}，账号{CARD}，开户行农业银行北京分行。",
    "回头你把首付款转到{CARD}这个卡上就行。",
    "我的邮箱地址：{EMAIL}（这个常用）",
    "微信搜{WECHAT}就能加到我。",
    "我vx：{WECHAT}",
    "有事可以Q我，{QQ}",
    "智能锁初始密码{PASSWORD}，入住后请及时修改。",
    "您的验证码为{CODE}，请勿泄露给他人。【贝壳找房】",
    "收到一条短信说验证码是{CODE}，是你们发的吗？",
    "网银登录名{ACCOUNT}，我记不清密码了。",
    "住址：{ADDRESS}",
    "他们家住{ADDRESS}，离学校近。",
    "约在{ADDRESS}楼下的咖啡馆见面。",
    "{NAME}跟我说这房子急卖。",
    "刚才{NAME}给我打电话了。",
    "{NAME}的意思是先付定金。",
    "这事儿得问{TNAME}。",
    "{TNAME}在吗？",
    "您是{TNAME}吧？",
    "我们{TNAME}已经在路上了。",
    "麻烦转告{SNAME}，下午的看房取消了。",
    "{SNAME}人挺好的，办事靠谱。",
    "明天{NAME}和{NAME2}一起过来。",
    "卖家{NAME}不同意降价。",
    "她叫{NAME}，是我表妹。",
    "让{NAME}把房产证复印件带上。",
    "给{NAME}回个电话：{MOBILE}",
    "经办人：{NAME}\u3000电话：{LANDLINE}",
    "紧急联系人{NAME}，电话{MOBILE}。",
    "报一下卡号啊，{CARD}，对，农行的。",
    "身份证{IDNEW}，有效期到2030年。",
    "密码我发你：{PASSWORD}",
    "门禁卡丢了，临时密码{PASSWORD}。",
    "这是取件码吗？不是，是验证码{CODE}。",
    "APP账号{ACCOUNT}，密码{PASSWORD}，你帮我看下合同。",
    "通讯地址：{ADDRESS}，邮编100020。",
    "新家地址{ADDRESS}，欢迎来玩。",
    "{MOBILE}是我助理的号。",
    "这号{MOBILE}是空号吗？",
    "有意向请致电{LANDLINE}或{SERVICE}。",
    "请联系{TNAME}{MOBILE}",
    "联系人：{NAME}{MOBILE}",
    "邮件抄送{EMAIL}和{EMAIL2}。",
    "老身份证号{IDOLD}还能用吗？",
    "房东叫{NAME}，人在国外，委托{NAME2}办手续。",
    "我是{NAME}的儿子，替我妈来问问。",
    "您好{TNAME}，合同已经发您邮箱{EMAIL}了。",
    "{NAME}说密码是{PASSWORD}，你试试。",
    "业主电话：{MOBILE}（{TNAME}）",
    "租金打到{NAME}的账户{ACCOUNT}。",
]

ZH_HOLDOUT_NEGATIVES = [
    "这套房挂牌价368万，可以谈到350万左右。",
    "小区2005年建成，楼龄快20年了。",
    "您好，请问您贵姓？",
    "主卧12平，次卧9平，客厅25平。",
    "一共23层，电梯两梯四户。",
    "周边配套：华联超市、协和医院、人大附中。",
    "我们在国贸CBD，不在望京。",
    "房子满两年了，增值税免征。",
    "下周三下午2点半，您看行吗？",
    "电话里说不清楚，我们见面聊。",
    "您的手机号已登记，验证码稍后发送。",
    "请输入6位数字密码。",
    "密码错误，请重新输入。",
    "这个账号已经注销了。",
    "1号线和6号线都能到，大概40分钟。",
    "小区物业是万科物业，服务挺好的。",
    "这个价格已经是最低价了，业主说不能再降了。",
    "装修的话，简装大概每平1000元。",
    "她说房子有点吵，因为临街。",
    "我问了一下，开发商是保利，2018年交房。",
    "陈列柜和书架都留给您。",
    "高档小区，管理严格，外来车辆不让进。",
    "金额不对，应该是12万，不是21万。",
    "华为和小米的员工在这边租房的多。",
    "老房子翻新一下还能住很多年。",
    "周边有个白云公园，傍晚人很多。",
    "这个楼盘叫金色阳光，在五环外。",
    "宋庄那边是艺术区，房子便宜。",
    "马桶和花洒都是新换的。",
    "石景山的房子比海淀便宜一半。",
    "向阳的房间冬天很暖和。",
    "程序上需要先做资质审核。",
    "林荫道两边都是梧桐树。",
    "于是我们就决定买这套了。",
    "江北的房价比江南低一点。",
    "雷雨天气，看房改到明天吧。",
    "白领公寓，适合刚工作的年轻人。",
    "钱不够的话可以申请组合贷。",
    "汤臣一品的房子一平米20万。",
    "毛坯房，需要自己装修。",
    "明天温度高，注意防暑。",
    "齐家网上看的装修案例。",
    "安居客上的照片和实际不太一样。",
    "房贷利率下调了0.25个百分点。",
    "这个户型的编号是A2-3，面积97平。",
    "6号楼1单元，东边户。",
    "尾号5678的那位客户已经签了。",
    "验证码已发送至尾号5678的手机。",
    "[[NAME:程经理]]的团队这个月成交了12套。",  # labelled a negative at first: a corpus error
    "叶落归根，老人想回老家买房。",
    "黄金周期间售楼处照常营业。",
    "高铁站离这里15分钟车程。",
    "杨柳依依，小区绿化做得很好。",
    "方向朝南，采光没问题。",
    "白天光线好，晚上也安静。",
]

EN_HOLDOUT = [
    "Could you text me at {MOBILE}? I'm in meetings all day.",
    "Reach our front desk on {LANDLINE}.",
    "I'm {ENNAME} from Lianjia, I'll be your agent.",
    "{ENNAME} signed the lease yesterday.",
    "Please cc {EMAIL} on the contract.",
    "WeChat me: {WECHAT}",
    "My QQ is {QQ}.",
    "Lockbox code: {CODE}",
    "The temporary password is {PASSWORD}.",
    "Account no. {ACCOUNT}",
    "Send the deposit to card number {CARD}.",
    "We're at {ENADDRESS}, second floor.",
    "{ENTNAME} will meet you in the lobby.",
    "Thanks {ENTNAME}!",
    "Dear {ENTNAME}, please find the contract attached.",
    "I spoke with {ENNAME} this morning.",
    "The buyer's ID number: {IDNEW}",
    "Call {ENNAME} on {MOBILE} if I'm unavailable.",
    "Email {ENTNAME} at {EMAIL} for the keys.",
    "The landlord's number is {LANDLINE}.",
]

EN_HOLDOUT_NEGATIVES = [
    "Could you give me a call back?",
    "It's a 2-bedroom on floor 12.",
    "The lease starts on March 1st, 2025.",
    "The code is on the back of the card.",
    "We have 3 agents in this office.",
    "Mark my words, prices will rise.",
    "Please enter your password.",
    "Your account has been verified.",
    "The QR code is on the door.",
    "Building 7, Unit 2 is sold out.",
    "Line 2 and Line 10 are nearby.",
    "Jade Garden and Park Avenue are both good compounds.",
    "The price dropped by 150,000 yuan.",
    "Call 110 in an emergency.",
    "Our phone line is busy, please try later.",
    "Can I pay the deposit with Alipay?",
    "The rent includes the management fee but not utilities.",
    "See you at the subway exit at 6:30.",
]


def fill(template: str, lang: str, part: str = "dev") -> dict:
    values: dict[str, str] = {}
    spans: list[dict[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        slot, index = match.group(1), match.group(2)
        key = slot + index
        if key not in values:
            values[key] = GENERATORS[slot]()
            if slot in TYPE_OF:
                span = {"type": TYPE_OF[slot], "value": values[key]}
                if span not in spans:
                    spans.append(span)
        return values[key]

    def literal(match: re.Match[str]) -> str:
        span = {"type": match.group(1), "value": match.group(2)}
        if span not in spans:
            spans.append(span)
        return match.group(2)

    text = LITERAL.sub(literal, SLOT.sub(replace, template))
    return {"lang": lang, "set": part, "text": text, "spans": spans}


def build() -> list[dict]:
    rows = []
    # Every template twice with fresh values, the negatives once (numbered ones twice).
    for template in ZH_TEMPLATES:
        for _ in range(2):
            rows.append(fill(template, "zh"))
    for template in ZH_NEGATIVES:
        rows.append(fill(template, "zh"))
        if "{" in template:
            rows.append(fill(template, "zh"))
    for template in EN_TEMPLATES:
        for _ in range(2):
            rows.append(fill(template, "en"))
    for template in EN_NEGATIVES:
        rows.append(fill(template, "en"))
    for template in ZH_HOLDOUT:
        for _ in range(2):
            rows.append(fill(template, "zh", "holdout"))
    for template in ZH_HOLDOUT_NEGATIVES:
        rows.append(fill(template, "zh", "holdout"))
    for template in EN_HOLDOUT:
        for _ in range(2):
            rows.append(fill(template, "en", "holdout"))
    for template in EN_HOLDOUT_NEGATIVES:
        rows.append(fill(template, "en", "holdout"))
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    zh = sum(r["lang"] == "zh" for r in rows)
    en = sum(r["lang"] == "en" for r in rows)
    negatives = sum(not r["spans"] for r in rows)
    print(f"{OUT}: {len(rows)} sentences ({zh} Chinese, {en} English, {negatives} negatives)")


if __name__ == "__main__":
    main()
