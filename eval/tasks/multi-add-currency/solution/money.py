def round2(x):
    return round(x, 2)


def format_money(amount, currency='EUR'):
    return f'{round2(amount):.2f} {currency}'
