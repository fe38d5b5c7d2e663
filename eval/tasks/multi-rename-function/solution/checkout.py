from pricing.tax import compute_tax

def checkout_total(amount):
    return amount + compute_tax(amount)
