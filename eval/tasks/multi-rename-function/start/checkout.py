from pricing.tax import calc_tax

def checkout_total(amount):
    return amount + calc_tax(amount)
