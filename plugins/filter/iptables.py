"""Filter that turns the wanted content of iptables chains into one iptables-restore input."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _saved_chains(saved):
    """{table: {"chains": set of chain names, "rules": {chain: [rule spec, ...]}}} from iptables-save output."""
    tables = {}
    table = None
    for line in saved.splitlines():
        if line.startswith("*"):
            table = tables.setdefault(line[1:].strip(), {"chains": set(), "rules": {}})
        elif table is None or not line or line.startswith("#"):
            continue
        elif line.startswith(":"):
            table["chains"].add(line[1:].split(" ", 1)[0])
        elif line.startswith("-A "):
            chain, spec = [*line[3:].split(" ", 1), ""][:2]
            table["rules"].setdefault(chain, []).append(spec)
    return tables


def iptables_chains_restore(saved, chains):
    """iptables-restore --noflush input that makes each chain of `chains` as asked, or "" when all are.

    `saved` is the output of iptables-save. Each item of `chains` has `table`, `chain`, `rules` (rule
    specs in iptables-save's own form, without "-A <chain>"), `jump_from` and `jump` (the rule of a
    built-in chain that sends packets to it), and `state`: present (the chain holds exactly `rules`
    in order, the jump exists) or absent (no jump, no chain). Declaring an existing user chain in
    iptables-restore flushes it, so a chain that differs is rewritten whole, in one commit per table.
    """
    current = _saved_chains(saved or "")
    per_table = {}
    for spec in chains:
        missing = [key for key in ("table", "chain", "jump_from", "jump") if not spec.get(key)]
        if missing:
            raise AnsibleFilterError("iptables chain %r lacks %s" % (spec, ", ".join(missing)))
        table = current.get(spec["table"], {"chains": set(), "rules": {}})
        chain, jump_from, jump = spec["chain"], spec["jump_from"], spec["jump"]
        exists = chain in table["chains"]
        jumps = [rule for rule in table["rules"].get(jump_from, []) if rule == jump]
        lines = []
        if spec.get("state", "present") == "present":
            rules = list(spec.get("rules") or [])
            if not exists or table["rules"].get(chain, []) != rules:
                lines.append(":%s - [0:0]" % chain)
                lines.extend("-A %s %s" % (chain, rule) for rule in rules)
            if not jumps:
                lines.append("-A %s %s" % (jump_from, jump))
        else:
            lines.extend("-D %s %s" % (jump_from, rule) for rule in jumps)
            if exists:
                lines.extend([":%s - [0:0]" % chain, "-X %s" % chain])
        if lines:
            per_table.setdefault(spec["table"], []).extend(lines)
    return "".join("*%s\n%s\nCOMMIT\n" % (table, "\n".join(lines)) for table, lines in per_table.items())


class FilterModule:
    def filters(self):
        return {"iptables_chains_restore": iptables_chains_restore}
