"""The auditor's commands: ``bo signoff`` (maker-checker sign-off of a sealed run), ``bo runs``
(the archive as a history: scope, status, exceptions, sign-off, the official run of each date),
``bo ledger`` (the ledger's chain; ``--adopt`` for runs sealed before it) and ``bo keygen`` (an
Ed25519 key pair for signing the ledger)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

EXIT_OK, EXIT_CLOSE_REFUSED = 0, 1  # 1: signed and approved, but a fund's close was refused


def _sealed(run_dir: str) -> tuple[Path, dict]:
    from bo_lib.cli import _unsealed_run
    from bo_lib.pipeline.archive import read_manifest

    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder not found: {folder}")
    if _unsealed_run(folder.resolve()) is not None:
        raise ValueError(f"{folder}: the run is not sealed (no manifest); only a sealed run is signed off")
    return folder.resolve(), read_manifest(folder)


def _explanations(items: list[str]) -> dict[str, str]:
    explained = {}
    for item in items or []:
        check, sep, why = item.partition("=")
        if not sep:
            raise ValueError(f'--explain {item!r}: write it as "CHECK=why" (the red check, then the comment)')
        explained[check.strip()] = why
    return explained


def _cmd_signoff(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline.index import write_reports_index
    from bo_lib.pipeline.signoff import SignoffRequest, read_log, run_approved, shared_accounts, sign_off

    run_dir, manifest = _sealed(args.run_dir)
    request = SignoffRequest(name=args.name, role=args.role, jobs=tuple(args.job or ()), comment=args.comment or "",
                             explained=_explanations(args.explain), accepted=tuple(args.accept or ()))
    was_approved = run_approved(manifest, read_log(run_dir))
    entry = sign_off(run_dir, manifest, request)
    log = read_log(run_dir)
    approved = run_approved(manifest, log)
    shared = shared_accounts(log[:-1], entry)
    if shared:
        print(f"bo signoff: note: {len(shared)} job(s) reviewed from the operating-system account {entry['user']!r} that prepared "
              "them (a shared login: the names differ, the account does not)", file=sys.stderr)
    write_reports_index(run_dir.parent.parent)
    jobs = entry["jobs"]
    print(f"signed: {entry['role']} {entry['name']} for {len(jobs)} job(s) of run {manifest['run_id']} "
          f"({', '.join(jobs) if len(jobs) <= 4 else ', '.join(jobs[:4]) + ', ...'}); sign-off {entry['seq']}, anchored in the ledger")
    if approved and not was_approved:
        print(f"run {manifest['run_id']} ({manifest['business_date']}) approved: every job reviewed")
        if args.close:
            lines = _close_run(manifest, entry["name"])
            for line in lines:
                print(line)
            if any(line.startswith("not closed") for line in lines):
                return EXIT_CLOSE_REFUSED
    elif args.close:
        print(f"--close: run {manifest['run_id']} is not approved yet (every job must be reviewed); nothing closed")
    return EXIT_OK


def _close_run(manifest: dict, reviewer: str) -> list[str]:
    """Close the NAV date of every fund the approved run struck a NAV for."""
    from bo_lib.cli import _Setup, close_fund

    setup = _Setup(argparse.Namespace(parameters=manifest["parameters"]["dir"], data=manifest["data_root"], store=manifest["store"]))
    day = dt.date.fromisoformat(manifest["business_date"])
    funds = sorted({job["fund"] for job in manifest["jobs"] if job["notebook"] == "nav" and job.get("fund")})
    if not funds:
        return ["--close: the run struck no NAV; nothing closed"]
    lines = []
    for code in funds:  # each fund closes on its own: one refused close leaves the others closed
        try:
            lines.append(close_fund(setup, setup.fund(code), day, reviewer, f"approved run {manifest['run_id']}"))
        except ValueError as exc:
            lines.append(f"not closed: {exc}")
    return lines


def _runs_line(run, official: bool) -> str:
    from bo_lib.pipeline.index import describe_scope, run_totals

    if run.manifest is None:
        return f"{run.run_dir.parent.name}  {run.run_dir.name}  {run.state.lower() if run.state else 'incomplete'}" + (
            f" ({run.error})" if run.error else "")
    totals = run_totals(run.manifest)
    status = "complete" if not totals.failed else f"{totals.failed} of {totals.jobs} jobs failed"
    marks = ["OFFICIAL"] if official else []
    if run.adopted:
        marks.append("adopted into the ledger after sealing")
    if run.replay_of:
        marks.append(f"replay of {run.replay_of}")
    return (f"{run.run_dir.parent.name}  {run.run_dir.name}  {describe_scope(run.manifest)}; {status}; "
            f"{totals.red} red, {totals.amber} amber; {run.signoff.describe()}" + (f"  [{', '.join(marks)}]" if marks else ""))


def _cmd_runs(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline.index import official_runs, read_runs

    root = _report_root(args)
    if args.date:
        from bo_lib.cli import _date

        _date(args.date, "--date")
    runs = [run for run in read_runs(root) if not args.date or run.run_dir.parent.name == args.date]
    official = official_runs(runs)
    if not runs:
        print(f"no runs under {root.resolve()}" + (f" for {args.date}" if args.date else ""))
    for run in runs:
        print(_runs_line(run, run.run_dir in official))
    return EXIT_OK


def _report_root(args: argparse.Namespace) -> Path:
    from bo_lib.parameters import load_schedule

    root = Path(args.reports) if args.reports else Path(load_schedule(Path(args.parameters) / "schedule.yaml").report_root)
    if not root.is_dir():
        raise FileNotFoundError(f"report root not found: {root.resolve()}")
    return root


def _cmd_ledger(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline.index import plural, write_reports_index
    from bo_lib.pipeline.ledger import check_chain, ledger_path, load_public_key, read_ledger
    from bo_lib.pipeline.verify import adopt_archive, head_problems

    root = _report_root(args)
    if args.adopt:
        adoption = adopt_archive(root)
        for name in adoption.adopted:
            print(f"adopted {name}: entered in the ledger (sealed before it; the ledger vouches for it from now on)")
        for name, problems in adoption.refused.items():
            print(f"NOT ADOPTED {name}: {'; '.join(problems[:3])}" + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""))
        if adoption.adopted:
            write_reports_index(root)
    entries = read_ledger(ledger_path(root))
    chain = check_chain(entries, load_public_key(args.public_key) if args.public_key else None)
    chain.problems += head_problems(entries, args.expect_head)
    for problem in chain.problems:
        print(problem)
    kinds = {kind: sum(entry.get("kind") == kind for entry in entries) for kind in ("run", "signoff")}
    print(f"ledger {ledger_path(root).resolve()}: {plural(chain.entries, 'entry')} ({plural(kinds['run'], 'run')}, "
          f"{plural(kinds['signoff'], 'sign-off')}), {chain.signed} signed; chain {'BROKEN' if chain.problems else 'intact'}; head {chain.head}")
    return 1 if chain.problems or (args.adopt and adoption.refused) else EXIT_OK


def _cmd_keygen(args: argparse.Namespace, argv: list[str]) -> int:
    from bo_lib.pipeline.ledger import KEY_VARIABLE, generate_key_pair

    private = Path(args.out)
    public = private.with_suffix(".pub.pem") if private.suffix == ".pem" else private.with_name(private.name + ".pub.pem")
    key = generate_key_pair(private, public)
    print(f"wrote the private key {private.resolve()} (mode 0600; keep it secret, off the report share) and the public key "
          f"{public.resolve()} (key id {key}); sign the ledger with `export {KEY_VARIABLE}={private.resolve()}`, "
          f"check it with `bo verify RUN_DIR --public-key {public}`")
    return EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:
    """``bo signoff``, ``bo runs``, ``bo keygen``."""
    signoff = commands.add_parser(
        "signoff", help="sign off a sealed run, or one job of it, as its preparer or its reviewer (maker-checker)",
        description="Append a sign-off to the run's sign-off log (signoffs.jsonl, beside the sealed files) and to the archive's "
                    "ledger. The reviewer of a job signs after its preparer and must be someone else; a job with red exceptions is "
                    "reviewed only with a comment on each red check (--explain) or an explicit acceptance of it (--accept). A run is "
                    "approved when every job is reviewed.")
    signoff.add_argument("run_dir", help="the run folder: <reports>/<date>/<run id>")
    signoff.add_argument("--job", action="append", metavar="FUND/NOTEBOOK", help="only this job (repeatable; default: every job of the run)")
    signoff.add_argument("--as", dest="name", required=True, metavar="NAME", help="who signs")
    signoff.add_argument("--role", required=True, choices=("preparer", "reviewer"))
    signoff.add_argument("--comment", help="what was checked; required with --accept")
    signoff.add_argument("--explain", action="append", metavar="CHECK=WHY", help="a comment on a red check (repeatable)")
    signoff.add_argument("--accept", action="append", metavar="CHECK", help="accept a red check explicitly (repeatable; needs --comment)")
    signoff.add_argument("--close", action="store_true", help="when this sign-off approves the run, close the NAV date of its funds (bo close)")
    signoff.set_defaults(handler=_cmd_signoff)

    runs = commands.add_parser("runs", help="the archive's runs: scope, status, red and amber counts, sign-off, the official run of each date")
    runs.add_argument("--date", help="only this business date YYYY-MM-DD")
    runs.add_argument("--reports", help="report root (default: the schedule's report_root)")
    runs.add_argument("--parameters", default="parameters", help="parameters directory (default: parameters/)")
    runs.set_defaults(handler=_cmd_runs)

    ledger = commands.add_parser("ledger", help="check the archive's ledger (its chain and signatures); --adopt enters runs sealed before it")
    ledger.add_argument("--reports", help="report root (default: the schedule's report_root)")
    ledger.add_argument("--parameters", default="parameters", help="parameters directory (default: parameters/)")
    ledger.add_argument("--public-key", metavar="KEY.pub.pem", help="also require a good Ed25519 signature on every entry")
    ledger.add_argument("--expect-head", metavar="HASH", help="a head hash noted earlier: it must still be an entry of the ledger")
    ledger.add_argument("--adopt", action="store_true",
                        help="enter every sealed run the ledger does not know and that verifies against its own manifest")
    ledger.set_defaults(handler=_cmd_ledger)

    keygen = commands.add_parser("keygen", help="write an Ed25519 key pair for signing the archive's ledger")
    keygen.add_argument("--out", required=True, metavar="KEY.pem", help="the private key's file (the public key goes beside it, .pub.pem)")
    keygen.set_defaults(handler=_cmd_keygen)
