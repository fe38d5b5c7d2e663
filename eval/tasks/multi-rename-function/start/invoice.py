from pricing import tax

def invoice_line(amount):
    return f'{amount:.2f} + tax {tax.calc_tax(amount):.2f}'
