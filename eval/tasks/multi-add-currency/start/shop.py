from money import round2

def receipt(items):
    lines = [f'{name}: {round2(price):.2f}' for name, price in items]
    lines.append(f'total: {round2(sum(p for _, p in items)):.2f}')
    return '\n'.join(lines)
