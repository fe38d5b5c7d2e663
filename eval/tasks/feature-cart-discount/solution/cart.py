CODES = {'TEN': lambda t: t * 0.9, 'FIVEOFF': lambda t: max(0.0, t - 5)}


class Cart:
    def __init__(self):
        self.lines = []
        self.code = None

    def add(self, price, qty=1):
        self.lines.append((price, qty))

    def apply_code(self, code):
        if code not in CODES:
            raise ValueError(f'unknown code {code}')
        self.code = code

    def total(self):
        t = sum(p * q for p, q in self.lines)
        if self.code:
            t = CODES[self.code](t)
        return round(t, 2)
