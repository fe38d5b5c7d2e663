import re

def slugify(text, max_length=None):
    s = re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')
    if max_length is not None:
        s = s[:max_length].rstrip('-')
    return s
