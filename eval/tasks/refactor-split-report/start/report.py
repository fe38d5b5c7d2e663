def build_report(rows):
    totals = {}
    for name, amount in rows:
        totals[name] = totals.get(name, 0) + amount
    lines = []
    for name in sorted(totals):
        lines.append(f'{name:<10}{totals[name]:>8.2f}')
    lines.append(f"{'TOTAL':<10}{sum(totals.values()):>8.2f}")
    return '\n'.join(lines)
