import re

def encode(s):
    out = []
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out.append(f"{j - i}{s[i]}")
        i = j
    return "".join(out)

def decode(s):
    return "".join(ch * int(n) for n, ch in re.findall(r"(\d+)(\D)", s))
