from errors import ConfigError
from parser import parse_line


def load(text):
    if not text.strip():
        raise ConfigError('empty config')
    return dict(parse_line(l, i) for i, l in enumerate(text.splitlines(), 1) if l.strip())
