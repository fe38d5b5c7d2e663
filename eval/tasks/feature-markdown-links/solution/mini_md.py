import re


def _link(m):
    text, url = m.group(1), m.group(2)
    if '"' in url:
        return m.group(0)
    return f'<a href="{url}">{text}</a>'


def render(md):
    out = []
    for line in md.splitlines():
        line = re.sub(r'\*\*(.+?)\*\*', r'<b>\1</b>', line)
        line = re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)', _link, line)
        if line.startswith('# '):
            line = f'<h1>{line[2:]}</h1>'
        out.append(line)
    return '\n'.join(out)
