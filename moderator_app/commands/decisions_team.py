"""`moderator-app decisions assign|double-review|disagreements|adjudicate`: a team's queues on one store.

    moderator-app decisions assign QUEUE --to ann,bob [--as lead] [--store URL]
    moderator-app decisions double-review QUEUE --share 0.1 [--seed N] [--as lead]   (--off: none)
    moderator-app decisions disagreements [--queue Q] [--settled | --every] [--json]
    moderator-app decisions adjudicate TEXT --label L [--queue Q] [--note N] [--as lead]
    moderator-app decisions adjudicate TEXT --undo [--queue Q] [--note N] [--as lead]   (takes the final label back)

Any moderator may assign, set a double review or adjudicate (the app has no accounts); the store
records who did: `--as NAME`, by default the operating-system user (core.review.team)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

TEAM_ACTIONS = ("assign", "double-review", "disagreements", "adjudicate")


def add_team_actions(actions, add_store_argument) -> None:
    assign = actions.add_parser("assign", help="assign a queue to moderators (its 'Mine' in the Review tab)")
    assign.add_argument("queue", metavar="QUEUE", help="the queue's name")
    assign.add_argument("--to", required=True, metavar="NAME[,NAME]",
                        help="the moderators, comma-separated (replaces those it was assigned to; '' unassigns it)")
    double = actions.add_parser("double-review", help="have a share of a queue reviewed blind by a second moderator",
                                description="Draws the share of the queue's items (reproducibly: a hash of the seed, "
                                            "the queue and the text) that a second moderator reviews without seeing "
                                            "the first decision.")
    double.add_argument("queue", metavar="QUEUE", help="the queue's name")
    share = double.add_mutually_exclusive_group(required=True)
    share.add_argument("--share", type=float, metavar="S", help="the share of items, above 0 and at most 1 (0.1: 10 %%)")
    share.add_argument("--off", action="store_true", help="no double review for this queue any more")
    double.add_argument("--seed", type=int, default=0, metavar="N", help="the draw's seed (default 0)")
    listing = actions.add_parser("disagreements", help="texts the moderators labelled differently, and if settled")
    listing.add_argument("--queue", help="only decisions made in this queue")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--settled", action="store_true", help="only those a lead has adjudicated")
    which.add_argument("--every", action="store_true", help="settled or not")
    listing.add_argument("--json", action="store_true", help="print them as JSON (one object per text)")
    adjudicate = actions.add_parser("adjudicate", help="record the final label of a text (an adjudication), or undo it",
                                    description="Appends the final label as a decision of kind 'adjudication': it "
                                                "wins in exports and retraining; the earlier decisions stay. --undo "
                                                "takes the text's final label back (an undo row; the adjudication "
                                                "stays in the log): its disagreement is open again.")
    adjudicate.add_argument("text", metavar="TEXT", help="the text, as `decisions disagreements` lists it")
    final = adjudicate.add_mutually_exclusive_group(required=True)
    final.add_argument("--label", help="the final label")
    final.add_argument("--undo", action="store_true",
                       help="undo the text's final label (its latest adjudication, not undone already)")
    adjudicate.add_argument("--queue", help="the queue the disagreement is in (the adjudication is recorded there)")
    adjudicate.add_argument("--note", default="", help="why, kept with the adjudication or its undo")
    for action in (assign, double, adjudicate):
        action.add_argument("--as", dest="moderator", metavar="NAME",
                            help="who does it, recorded in the store (default: the operating-system user)")
    for action in (assign, double, listing, adjudicate):
        add_store_argument(action)


def run_team_action(args: argparse.Namespace, store) -> None:
    from moderator_app.core.review import team

    who = (getattr(args, "moderator", None) or "").strip() or _os_user()
    if args.action == "assign":
        queue = team.assign(store, args.queue, args.to.split(","), by=who)
        print(f"'{queue.name}' is assigned to {', '.join(queue.assigned) or 'nobody'}.")
    elif args.action == "double-review":
        review = team.set_double_review(store, args.queue, None if args.off else args.share, args.seed, by=who)
        if review is None:
            print(f"'{args.queue}' has no double review now; the decisions made stay in the log.")
        else:
            drawn = team.sample(store, args.queue)
            print(f"{len(drawn):,} items of '{args.queue}' ({review.share:.0%}, seed {review.seed}) are reviewed blind "
                  "by a second moderator.")
    elif args.action == "disagreements":
        found = team.disagreements(store, args.queue, settled=True if args.settled else None if args.every else False)
        if args.json:
            for item in found:
                print(json.dumps(_as_json(item), ensure_ascii=False))
        else:
            what = "settled" if args.settled else "" if args.every else "not settled"
            print(f"{len(found):,} disagreements{' ' + what if what else ''}"
                  + (f" in '{args.queue}'" if args.queue else "") + ("." if not found else ":"))
            for item in found:
                votes = "; ".join(f"{name}: {decision.moderator_label} ({decision.decided_at[:16].replace('T', ' ')})"
                                  for name, decision in item.decisions.items())
                settled = (f" -> {item.adjudication.moderator_label} by {item.adjudication.moderator}"
                           if item.adjudication else "")
                print(f"  {item.text!r}: {votes}{settled}")
    elif args.undo:
        undo = team.undo_adjudication(store, args.text, who, args.queue, args.note)
        undone = store.row(undo.reverts)
        print(f"Undid the final label '{undone.moderator_label}' of {undone.text[:60]!r} (adjudicated by "
              f"{undone.moderator or 'an unknown moderator'}, {undone.decided_at[:16].replace('T', ' ')}); the "
              "moderators' decisions count again, and the adjudication stays in the log with the undo.")
    else:
        decision = team.adjudicate(store, args.text, args.label, who, args.queue, args.note)
        print(f"Recorded '{decision.moderator_label}' as the final label of {decision.text[:60]!r} (adjudicated by "
              f"{decision.moderator}); the earlier decisions stay in the log.")
    sys.stdout.flush()


def _as_json(item) -> dict:
    return {"text": item.text, "settled": item.settled,
            "decisions": [{"moderator": name, "label": decision.moderator_label, **_categories(decision),
                           "decided_at": decision.decided_at, "model": decision.model_name, "queue": decision.queue}
                          for name, decision in item.decisions.items()],
            "adjudication": None if item.adjudication is None else {
                "moderator": item.adjudication.moderator, "label": item.adjudication.moderator_label,
                **_categories(item.adjudication), "decided_at": item.adjudication.decided_at,
                "note": item.adjudication.note}}


def _categories(decision) -> dict:
    """A multi-label decision's set of categories as a list (its label is the same set as text)."""
    return {"categories": list(decision.moderator_categories or ())} if decision.multi_label else {}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (some containers)
        return "moderator"
