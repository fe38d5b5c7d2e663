def summarize(rows):
    totals = {}
    for name, amount in rows:
        totals[name] = totals.get(name, 0) + amount
    return totals


def format_report(totals):
    lines = [f'{name:<10}{totals[name]:>8.2f}' for name in sorted(totals)]
    lines.append(f"{'TOTAL':<10}{sum(totals.values()):>8.2f}")
    return '\n'.join(lines)


def build_report(rows):
    return format_report(summarize(rows))
