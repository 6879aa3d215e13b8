#!/usr/bin/env python3
"""Writes a large, varied UTF-8 text for tokenizer parity checks and benchmarks (seeded, so reproducible).

Lines mix English prose from Debian's license texts with generated lines in many scripts, emoji (ZWJ
sequences, skin tones, flags), digits of several systems, whitespace runs, contractions and very long words.
usage: make_text.py OUT [--megabytes N] [--seed S]
"""
import argparse, glob, random

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--megabytes", type=float, default=4)
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()
rng = random.Random(args.seed)

prose = []
for path in sorted(glob.glob("/usr/share/common-licenses/*")):
    try:
        prose += [l.rstrip("\n") for l in open(path, encoding="utf-8")]
    except (UnicodeDecodeError, IsADirectoryError):
        pass
prose = [l for l in prose if l.strip()] or ["The quick brown fox jumps over the lazy dog."]

words = {
    "latin": ["naïve", "café", "Ünïcödé", "façade", "straße", "œuvre", "Ångström", "żółć", "ĳsselmeer"],
    "greek": ["Ελληνικά", "κείμενο", "ΣΟΦΟΣ", "ἀρχή"],
    "cyrillic": ["русский", "текст", "Ёлка", "їжак"],
    "hebrew": ["עברית", "שָׁלוֹם"],
    "arabic": ["العربية", "مرحبا", "٣٤٥"],
    "indic": ["हिन्दी", "ভাষা", "தமிழ்", "ગુજરાતી"],
    "cjk": ["中文文本", "北京天安门", "日本語のテキスト", "カタカナ", "한국어", "텍스트", "𠀀𠀁"],
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "🏳️‍🌈", "🤖🤖🤖"],
    "digits": ["1234567890", "3.14159", "1,000,000", "٣٤٥", "ⅧⅨ", "²³", "１２３"],
    "symbols": ["©®™", "∑∫√", "≠≤", "->", "=>", "...", "!!!", "?!", "#hash", "@user", "$5.00", "50%"],
    "contractions": ["it's", "don't", "we'll", "they've", "I'd", "you're", "I'm", "'s", "'S", "O'Neill", "''quoted''"],
    "urls": ["https://example.com/path?q=1&r=two#frag", "user@example.org", "C:\\Windows\\System32"],
}
spaces = [" ", " ", " ", "  ", "   ", "\t", " \t ", "\u00a0", "\u3000", "\u2003"]

def generated_line():
    parts = []
    for _ in range(rng.randint(3, 25)):
        kind = rng.choice(list(words))
        parts.append(rng.choice(words[kind]))
        parts.append(rng.choice(spaces))
    if rng.random() < 0.05:
        parts.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(200, 3000))))
    if rng.random() < 0.05:
        parts.append("aaaa" * rng.randint(50, 500))
    line = "".join(parts)
    return ("   " if rng.random() < 0.1 else "") + line + ("  " if rng.random() < 0.1 else "")

target = int(args.megabytes * 1024 * 1024)
size = 0
with open(args.out, "w", encoding="utf-8") as out:
    while size < target:
        line = rng.choice(prose) if rng.random() < 0.6 else generated_line()
        out.write(line + "\n")
        size += len(line.encode("utf-8")) + 1
