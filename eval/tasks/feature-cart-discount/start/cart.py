class Cart:
    def __init__(self):
        self.lines = []

    def add(self, price, qty=1):
        self.lines.append((price, qty))

    def total(self):
        return round(sum(p * q for p, q in self.lines), 2)
