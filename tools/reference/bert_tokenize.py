"""Independent BERT WordPiece tokenizer (the algorithm of Google's original tokenization.py):
clean text, space out CJK characters, split on whitespace, lower-case and strip accents,
split punctuation, then greedy longest-match-first WordPiece with "##" continuations.

    /usr/bin/python3 tools/reference/bert_tokenize.py <vocab.txt> <sentences.json>
prints the ids of each sentence with [CLS] ... [SEP], as JSON.
"""
import json
import sys
import unicodedata


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def clean(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"):
            continue
        out.append(" " if ch in " \t\n\r" or unicodedata.category(ch) == "Zs" else ch)
    return "".join(out)


def basic_tokens(text):
    text = "".join(f" {ch} " if is_cjk(ord(ch)) else ch for ch in clean(text))
    tokens = []
    for word in text.split():
        word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if is_punctuation(ch):
                if current:
                    tokens.append(current)
                tokens.append(ch)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
    return tokens


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def main():
    vocab = {line.rstrip("\n"): i for i, line in enumerate(open(sys.argv[1], encoding="utf-8"))}
    sentences = json.load(open(sys.argv[2]))
    result = []
    for sentence in sentences:
        tokens = ["[CLS]"] + [p for w in basic_tokens(sentence) for p in wordpiece(w, vocab)] + ["[SEP]"]
        result.append([vocab[t] for t in tokens])
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
