import re

def render(md):
    out = []
    for line in md.splitlines():
        line = re.sub(r'\*\*(.+?)\*\*', r'<b>\1</b>', line)
        if line.startswith('# '):
            line = f'<h1>{line[2:]}</h1>'
        out.append(line)
    return '\n'.join(out)
