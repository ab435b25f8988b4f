"""The `users` scenario's part of docs/performance.md (bench/users.py): its targets row and its section."""

from bench.report import _fmt, _table, _unavailable

TARGET_USERS = 5_000


def target_row(users: dict) -> dict | None:
    """The targets row "supported users ≥ 5,000" (None when the scenario did not run to the end)."""
    if "supported_users" not in users:
        return None
    supported = users["supported_users"]
    rate = users["supported_actions_per_s"]
    value = _supported(users["ramps"][0]) + (f" ({_fmt(rate)} actions/s)" if rate is not None else "")
    if users["supported_scaled"]:
        value += ", idle time scaled"
    return {
        "name": "Users one box holds: the largest step with every action's p99 < 1 s, < 0.1 % failed, nothing lost",
        "target": f"≥ {TARGET_USERS:,}",
        "value": value,
        "met": supported >= TARGET_USERS,
        "note": users["limit"],
    }


def _supported(ramp: dict) -> str:
    """The supported users, or "fewer than <the first step>" when no step held."""
    if ramp["supported_users"] or not ramp.get("steps", [None])[0]:
        return f"{ramp['supported_users']:,}"
    return f"fewer than {ramp['steps'][0]['users']:,}"


def _p(figure: dict) -> str:
    if not figure or figure.get("p99_ms") is None:
        return "–"
    return f"{_fmt(figure['p50_ms'], 0)} / {_fmt(figure['p99_ms'], 0)} ({figure['count']:,})"


def section(users: dict) -> str:
    """The section "Users one box holds": the world, then each ramp's steps and actions."""
    missing = _unavailable(users)
    if missing:
        return missing
    world = users["world"]
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in world["conversations"].items())
    mix = ", ".join(f"{name} {percent:g} %" for name, percent in users["mix_percent"].items())
    histories = ", ".join(f"{n} messages per {kind}" for kind, n in world["history"].items())
    parts = [
        f"{world['people']:,} people seeded (each: {world['per_person']}; {kinds} conversations; histories of "
        f"{histories}), each signed in with a session of their own and holding one socket, in "
        f"{users['client_processes']} client processes. Idle time between actions: exponential above "
        f"{_fmt(users['min_idle_s'], 0)} s, mean {_fmt(users['mean_idle_s'], 0)} s (a step whose sockets stand for "
        f"more people has every idle time × sockets / people). Mix (Mattermost load-test-ng's weights): {mix}. "
        f"Each step is measured for {_fmt(users['hold_s'], 0)} s once its people have arrived; one eventlet "
        "worker on SQLite, started afresh for each ramp, the load generator on the same two cores. One run. "
        "Latency is from an action's start to its last response (a send: to its ack; delivery: to the last "
        "recipient's receipt); an action with few samples in a step has a p99 close to its slowest one."
    ]
    for ramp in users["ramps"]:
        parts.append(_ramp(ramp, list(users["mix_percent"])))
    errors = sorted(
        {
            f"{name}: {error}"
            for ramp in users["ramps"]
            for row in ramp["steps"]
            for figures in (row["actions"], row["background"])
            for name, figure in figures.items()
            for error in figure["errors"]
        }
    )
    if errors:
        parts.append("Failures seen: " + "; ".join(f"`{error}`" for error in errors[:12]))
    return "\n\n".join(parts)


def _ramp(ramp: dict, mix: list[str]) -> str:
    steps = ramp["steps"]
    title = (
        "**As the browser does: the actions and the pages' own requests** (a visible chat marks what arrives "
        "read 300 ms later: the background rows; an unread count that changes costs the list no request)"
        if ramp["page_reactions"]
        else "**The actions alone** (the pages make no requests of their own: what those cost)"
    )
    step_rows = []
    for row in steps:
        messages, cpu = row["messages"], row["cpu"]
        slowest = max(row["actions"].items(), key=lambda item: item[1]["p99_ms"] or 0, default=("–", {}))
        step_rows.append(
            [
                f"{row['users']:,}",
                f"{row['sockets']:,}" + (f" (idle × {row['pace']:g})" if row["pace"] < 1 else ""),
                _fmt(row["actions_per_s"]),
                _fmt(row["background_per_s"]),
                f"{_fmt(100 * (row['error_rate'] or 0), 2)} %",
                f"{slowest[0]} {_fmt(slowest[1].get('p99_ms'), 0)} ms",
                f"{_fmt(messages['delivery']['p50_ms'], 0)} / {_fmt(messages['delivery']['p99_ms'], 0)}",
                f"{messages['stored_missing'] + messages['stored_twice']} / {messages['undelivered']}",
                f"{_fmt(cpu['server_cpu'], 0)} / {_fmt(cpu['clients_cpu'], 0)} / {_fmt(cpu['others_cpu'], 0)}",
                _fmt(row["lag_p99_ms"], 0),
                "holds" if row["holds"] else "**fails**: " + "; ".join(row["failed_because"]),
            ]
        )
    steps_table = _table(
        [
            "users",
            "sockets",
            "actions/s",
            "background requests/s",
            "failed",
            "slowest action p99",
            "delivery p50 / p99 ms",
            "lost: not stored / missed a recipient",
            "CPU % server / clients / other processes",
            "client loop lag p99 ms",
            "",
        ],
        step_rows,
    )
    names = [name for name in mix if any(name in row["actions"] for row in steps)] + sorted(
        {name for row in steps for name in row["background"]}
    )
    action_rows = [
        [name] + [_p(row["actions"].get(name) or row["background"].get(name)) for row in steps] for name in names
    ]
    actions_table = _table(["p50 / p99 ms (count)"] + [f"{row['users']:,} users" for row in steps], action_rows)
    supported = ramp["supported_users"]
    rate = ramp["supported_actions_per_s"]
    summary = (
        f"Supported users: **{_supported(ramp)}**"
        + (f" ({_fmt(rate)} actions/s sustained)" if supported and rate is not None else "")
        + f". {ramp['limit'][0].upper()}{ramp['limit'][1:]}."
    )
    if ramp.get("held_before"):
        title += (
            f"; from {steps[0]['users']:,} users on: the steps up to {ramp['held_before']:,} held with the "
            "pages' requests already"
        )
    return "\n\n".join([title, steps_table, actions_table, summary])
