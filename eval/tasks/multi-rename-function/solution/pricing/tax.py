RATE = 0.2

def compute_tax(amount):
    return round(amount * RATE, 2)
