"""A plan as lines of text for the command line: proposals per auditor (with each one's reasons on request) and
the providers skipped, with why. Formats only: the plan is ``services.planning``'s."""

from __future__ import annotations

from collections import Counter
from typing import Any


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary(plan: dict[str, Any], *, reasons: bool = False) -> list[str]:
    proposals, skipped, used = plan["proposals"], plan["skipped"], plan["settings"]
    intervals = ", ".join(f"{tier} every {months} months" for tier, months in used["interval_months"].items())
    lines = [f"plan {plan['id']}: {plan['starts_on']} to {plan['ends_on']}, {len(proposals)} audit(s) proposed, "
             f"{len(skipped)} due provider(s) skipped ({intervals}; {used['audits_per_week']} a week unless an "
             f"auditor says otherwise)"]
    by_auditor: dict[str, list[dict[str, Any]]] = {}
    for p in proposals:
        by_auditor.setdefault(p["lead_auditor_name"] or "(no auditor)", []).append(p)
    if by_auditor:
        lines += ["", "proposals per auditor:"]
        width = max(len(name) for name in by_auditor)
        for name, theirs in sorted(by_auditor.items()):
            kinds = Counter(p["kind"].replace("_", " ") for p in theirs)
            dates = sorted(str(p["starts_on"]) for p in theirs)
            kinds_text = ", ".join(_plural(n, kind) for kind, n in sorted(kinds.items()))
            lines.append(f"  {name:<{width}}  {len(theirs):4d}  ({kinds_text}; {dates[0]} to {dates[-1]})")
            if reasons:
                for p in sorted(theirs, key=lambda p: (str(p["starts_on"]), p["provider_name"])):
                    lines.append(f"    {p['starts_on']}  {p['kind'].replace('_', ' '):<14} {p['provider_name']}")
                    lines += [f"      why this {why}: {p['reasons'][why]}" for why in ("provider", "date", "auditor")]
    if skipped:
        lines += ["", f"skipped ({len(skipped)}):"]
        for code, count in Counter(s["code"] for s in skipped).most_common():
            lines.append(f"  {code}: {count}")
            lines += [f"    {s['provider_name']} (due {s['due_on']}): {s['reason']}" for s in skipped
                      if s["code"] == code]
    return lines
