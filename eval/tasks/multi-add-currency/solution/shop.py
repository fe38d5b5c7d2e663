from money import format_money

def receipt(items, currency='EUR'):
    lines = [f'{name}: {format_money(price, currency)}' for name, price in items]
    lines.append(f'total: {format_money(sum(p for _, p in items), currency)}')
    return '\n'.join(lines)
