RATE = 0.2

def calc_tax(amount):
    return round(amount * RATE, 2)
