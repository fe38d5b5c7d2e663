import formats.csvfmt  # noqa: F401
import formats.jsonfmt  # noqa: F401
import formats.lines  # noqa: F401
from formats import FORMATS


def export(data, fmt):
    if fmt not in FORMATS:
        raise ValueError(f'unknown format {fmt}; known: {", ".join(sorted(FORMATS))}')
    return FORMATS[fmt](data)
